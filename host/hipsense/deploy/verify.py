"""Start the installed firmware and read back what runs: slot, firmware version, IMU.

After a soft reset the launcher starts the active slot (counting a trial start). The host
watches the console for ``settle_s``, interrupts with Ctrl-C, and reads the version from the
running firmware's ``protocol`` module and the IMU from ``hs_boot.status["imu"]`` (set by the
application), or, when the application did not set it, by probing the bus of the board
profile with the firmware's own ``board.open_board()`` and ``imu.probe``. A version read
back ends the trial.
"""

from __future__ import annotations

from dataclasses import dataclass

from hipsense.deploy.errors import DeployError
from hipsense.deploy.link import BoardLink

_CRASH_MARKERS = ("Traceback (most recent call last)", "Guru Meditation", "rst:0x")

# Runs on the board (MicroPython); prints a dict literal.
READ_RUNNING_SNIPPET = """
import sys
def _hs_probe_imu():
    try:
        import board, imu
        b = board.open_board()
        d = imu.probe(b.i2c, b.imu_addresses)
        if d.chip == 'none':
            return 'none (%s)' % getattr(d, 'reason', 'no IMU answered')
        return d.chip
    except Exception as e:
        return 'unknown (%s: %s)' % (type(e).__name__, e)
def _hs_running():
    r = {'slot': None, 'fw': None, 'imu': None, 'trial': None, 'error': None, 'app': False}
    try:
        import hs_boot
    except ImportError:
        r['error'] = 'no launcher (hs_boot.py) on the board'
        return r
    r['slot'] = hs_boot.active_slot()
    r['trial'] = hs_boot.trial()
    r['app'] = r['slot'] is not None and hs_boot.has_app(r['slot'])
    p = sys.modules.get('protocol')
    if p is None and r['slot'] is not None:
        hs_boot.activate(r['slot'])
        try:
            import protocol as p
        except Exception as e:
            r['error'] = 'cannot import protocol: %s: %s' % (type(e).__name__, e)
            return r
    if p is not None:
        v = getattr(p, 'FW_VERSION', None)
        r['fw'] = '.'.join(str(x) for x in v) if v else None
    r['imu'] = hs_boot.status.get('imu') or _hs_probe_imu()
    return r
"""


@dataclass(frozen=True)
class RunningFirmware:
    slot: str | None
    fw_version: str | None
    imu: str | None
    console: str
    """What the board printed while starting."""


class VerifyFailed(DeployError):
    """The firmware did not start or did not report its version."""

    def __init__(self, message: str, console: str) -> None:
        super().__init__(message)
        self.console = console


def read_running(link: BoardLink) -> dict[str, object]:
    """Slot, version, IMU and trial of the firmware, from a raw-REPL session."""
    link.exec(READ_RUNNING_SNIPPET)
    return link.eval("_hs_running()", timeout_s=20.0)


def verify(link: BoardLink, *, settle_s: float = 3.0) -> RunningFirmware:
    """Soft-reset, let the firmware start, read back its version and IMU, confirm the slot."""
    console = link.soft_reset_and_run(settle_s)
    link.enter_raw(soft_reset=False)
    info = read_running(link)
    crashed = any(marker in console for marker in _CRASH_MARKERS)
    tail = "\n".join(console.strip().splitlines()[-12:])
    if crashed or not info.get("fw") or not info.get("app"):
        reason = info.get("error") or (
            "it crashed while starting" if info.get("app") else "its slot has no main module"
        )
        raise VerifyFailed(
            f"the new firmware did not start ({reason}). Board output:\n{tail}", console
        )
    link.exec("import hs_boot\nhs_boot.confirm()")
    return RunningFirmware(
        slot=str(info["slot"]), fw_version=str(info["fw"]), imu=str(info["imu"]), console=console
    )
