"""Typed frames of protocol v1 (docs/protocol.md "Frames"), as the decoder returns them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from hipsense.link.protocol.constants import (
    CONTENT_RAW,
    FLAG_RAW,
    FLAG_RESENT,
    MAX_COUNT,
    VERSION,
    BoardState,
    Command,
    ErrorCode,
    ImuChip,
    Result,
)
from hipsense.link.protocol.seq import SEQ_MASK

Int16Array = npt.NDArray[np.int16]


@dataclass(frozen=True, eq=False)
class SamplesFrame:
    """``count`` consecutive samples from ``seq`` (mod 2**30), first at ``t_100us`` (mod 2**30).

    ``angles_cdeg`` is (count, 3) int16: tilt, obliquity, rotation in 0.01 deg (-32768 = no
    estimate). ``raw`` is (count, 6) int16 acc x/y/z and gyro x/y/z counts, or None.
    """

    flags: int
    seq: int
    t_100us: int
    angles_cdeg: Int16Array
    raw: Int16Array | None = None
    version: int = VERSION

    @property
    def count(self) -> int:
        return int(self.angles_cdeg.shape[0])

    @property
    def resent(self) -> bool:
        return bool(self.flags & FLAG_RESENT)

    @property
    def has_raw(self) -> bool:
        return bool(self.flags & FLAG_RAW)

    def seqs(self) -> npt.NDArray[np.int64]:
        """Sequence number of each sample (mod 2**30)."""
        return (self.seq + np.arange(self.count, dtype=np.int64)) & SEQ_MASK

    def __post_init__(self) -> None:
        n = self.angles_cdeg.shape[0] if self.angles_cdeg.ndim == 2 else -1
        if self.angles_cdeg.shape != (n, 3) or not 1 <= n <= MAX_COUNT:
            raise ValueError(
                "angles_cdeg must be (count, 3) with 1 <= count <= 255, "
                f"got {self.angles_cdeg.shape}"
            )
        if self.has_raw != (self.raw is not None):
            raise ValueError("raw must be given exactly when flags has FLAG_RAW")
        if self.raw is not None and self.raw.shape != (n, 6):
            raise ValueError(f"raw must be (count, 6), got {self.raw.shape}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SamplesFrame):
            return NotImplemented
        same_raw = (self.raw is None and other.raw is None) or (
            self.raw is not None and other.raw is not None and np.array_equal(self.raw, other.raw)
        )
        return (
            (self.version, self.flags, self.seq, self.t_100us)
            == (other.version, other.flags, other.seq, other.t_100us)
            and np.array_equal(self.angles_cdeg, other.angles_cdeg)
            and same_raw
        )

    __hash__ = None  # type: ignore[assignment]  # holds arrays: not hashable


@dataclass(frozen=True)
class ConfigFrame:
    """How to read the SAMPLES frames that follow (scales, rate, content)."""

    content: int
    imu: ImuChip
    rate_hz: int
    period_100us: int
    acc_mps2_per_lsb: float
    gyr_dps_per_lsb: float
    boot_id: int
    aligned: bool
    gyro_calibrated: bool
    settings_gen: int = 0
    """Counts changes of the board's stored settings (mounting, gyro bias, rate) since boot,
    mod 256 (protocol 1.1; 0 from older boards): a new value means they changed."""
    exact_period: bool = False
    """Protocol 1.2: samples are exactly ``1 / rate_hz`` apart and ``t_100us`` is the floor of
    the first one's exact time; ``period_100us`` is then only rounded (104 Hz: 96 for
    96.15). Older boards step by ``period_100us``."""

    @property
    def period_100us_exact(self) -> float:
        """The sample period in 100 µs as the board counts it (see ``exact_period``)."""
        return 10000.0 / self.rate_hz if self.exact_period and self.rate_hz else self.period_100us

    @property
    def raw(self) -> bool:
        """True when SAMPLES carry raw acc + gyro with the angles."""
        return bool(self.content & CONTENT_RAW)


@dataclass(frozen=True)
class StatusFrame:
    """Board health and counters (counters are carried mod 2**30)."""

    state: BoardState
    battery_pct: int
    battery_mv: int
    imu: ImuChip
    content: int
    rate_hz: int
    frames_sent: int
    fifo_overflows: int
    i2c_errors: int
    samples_lost: int
    fw_version: tuple[int, int, int]
    proto_minor: int
    boot_id: int
    uptime_s: int

    @property
    def battery_known(self) -> bool:
        return self.battery_pct != 255


@dataclass(frozen=True)
class CommandFrame:
    """A command from the host; ``args`` are the raw argument bytes (see ``commands``)."""

    token: int
    command: Command
    args: bytes = b""


@dataclass(frozen=True)
class ReplyFrame:
    """The board's answer to the command with the same ``token``; payload only when OK."""

    token: int
    command: Command
    result: Result
    payload: bytes = field(default=b"")

    @property
    def ok(self) -> bool:
        return self.result == Result.OK


@dataclass(frozen=True)
class MarkerFrame:
    """A marker at sample ``seq``: code 0 is the board's button, 1..255 from a MARKER command."""

    code: int
    seq: int


@dataclass(frozen=True)
class ErrorFrame:
    """A fault the board reports, with a short text."""

    code: ErrorCode
    text: str = ""


Frame = (
    SamplesFrame | ConfigFrame | StatusFrame | CommandFrame | ReplyFrame | MarkerFrame | ErrorFrame
)
