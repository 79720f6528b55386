"""A change of the board's stored settings during a stream, seen live.

The board counts the changes of its stored settings (mounting, gyro calibration, rate) since
boot in every CONFIG frame (``settings_gen``). A new count within one boot is a change made
during the session, by another computer or over the USB link; the recording marks it with
``marker`` 258 (``MARKER_SETTINGS``) on the same sample, and every result's JSON and report
name it (:func:`hipsense.analysis.base.board_json`).
"""

from __future__ import annotations

from hipsense.link.session import SampleBlock, Session


class SettingsWatch:
    """An ``on_block`` callback: ``changed_t_s`` lists the stream times (s, from the first
    sample, as in the recording) of the blocks that came with new settings."""

    def __init__(self) -> None:
        self.t0_device_s: float | None = None
        self.generation: tuple[int, int] | None = None  # (boot id, settings generation)
        self.changed_t_s: list[float] = []

    def __call__(self, block: SampleBlock, session: Session) -> None:
        if self.t0_device_s is None:
            self.t0_device_s = float(block.t_device_s[0])
        config = block.config if block.config is not None else session.config
        if config is None:
            return
        generation = (config.boot_id, config.settings_gen)
        old = self.generation
        if old is not None and generation[0] == old[0] and generation != old:  # same boot
            self.changed_t_s.append(float(block.t_device_s[0]) - self.t0_device_s)
        self.generation = generation
