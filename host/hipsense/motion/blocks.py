"""Blocks from the board -> front-end frames on the recording's clock (shared by the stance
and bridge live views, so live and ``hipsense analyze`` see the same samples)."""

from __future__ import annotations

from collections.abc import Sequence

from hipsense.link.blocks import BlockRows, block_rows
from hipsense.link.session import SampleBlock
from hipsense.motion.frontend import Frame, ImuFrontEnd


class BlockFrontEnd:
    """Feeds blocks to an :class:`ImuFrontEnd` built at the first block with raw data.

    mounting_wxyz: sensor -> pelvis calibration.
    """

    def __init__(self, mounting_wxyz: Sequence[float]) -> None:
        self.mounting_wxyz = tuple(mounting_wxyz)
        self.front: ImuFrontEnd | None = None
        self.t0_device_s: float | None = None
        self.rows: BlockRows | None = None
        """The last block's recording rows (``seq``, ``t_s`` as the recording will hold them)."""

    def update(self, block: SampleBlock) -> Frame | None:
        """The block's frame; None without raw data or when it held only lost samples."""
        if block.raw is None or block.config is None:
            return None
        if self.front is None or self.t0_device_s is None:
            self.t0_device_s = float(block.t_device_s[0])
            self.front = ImuFrontEnd(float(block.config.rate_hz), self.mounting_wxyz)
        rows = self.rows = block_rows(block, self.t0_device_s, {})
        if len(rows) == 0 or rows.acc_mps2 is None or rows.gyr_dps is None:
            return None
        return self.front.update(rows.t_s, rows.acc_mps2, rows.gyr_dps)
