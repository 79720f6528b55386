"""Error models of the supported IMU chips, with the datasheet each figure comes from.

Per axis, the chip output is ``(1 + scale_error) · true + turn-on bias + bias drift + white noise``,
then clipped to the full-scale range and quantised to the LSB (int16 registers).

* White noise: the datasheet noise density × √(ODR / 2), i.e. white over the output band; the
  one-sided PSD of the output then equals density². (Real DLPFs narrow the band a little, so this
  is slightly pessimistic.)
* Turn-on bias and scale error: one draw per axis and seed from N(0, (tolerance / 2)²), clipped to
  ± tolerance, where tolerance is the datasheet's initial zero-g / zero-rate offset and sensitivity
  tolerance (typical values, not guaranteed limits).
* Bias drift: first-order Gauss–Markov process (correlation time 100 s). None of these datasheets
  specifies bias instability; the figures used (gyro 10 °/h, accel 0.05 mg) are typical of
  consumer MEMS Allan-variance results and are marked as assumptions in ``notes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

from hipsense.conventions import G_MPS2
from hipsense.sim.errors import SimError

Array = NDArray[np.float64]

BIAS_CORRELATION_S = 100.0
_INVENSENSE_ACC_LSB_G = {2: 1 / 16384, 4: 1 / 8192, 8: 1 / 4096, 16: 1 / 2048}
_INVENSENSE_GYR_LSB_DPS = {250: 1 / 131.0, 500: 1 / 65.5, 1000: 1 / 32.8, 2000: 1 / 16.4}
_ST_ACC_LSB_G = {2: 0.061e-3, 4: 0.122e-3, 8: 0.244e-3, 16: 0.488e-3}
_ST_GYR_LSB_DPS = {125: 4.375e-3, 250: 8.75e-3, 500: 17.5e-3, 1000: 35e-3, 2000: 70e-3}


@dataclass(frozen=True)
class ChipModel:
    """Noise and error figures of one chip (accelerometer and gyroscope)."""

    name: str
    title: str
    source: str
    """Datasheet (document number, revision) the figures come from."""
    acc_noise_ug_rthz: float
    gyr_noise_mdps_rthz: float
    acc_offset_mg: float
    gyr_offset_dps: float
    acc_scale_pct: float
    gyr_scale_pct: float
    acc_lsb_g: dict[int, float]
    """Full-scale range (±g) → g per LSB."""
    gyr_lsb_dps: dict[int, float]
    """Full-scale range (±dps) → dps per LSB."""
    acc_bias_instability_mg: float = 0.05
    gyr_bias_instability_dps: float = 10.0 / 3600.0
    notes: str = "bias instability assumed (not in the datasheet)"
    extra: dict[str, str] = field(default_factory=dict)

    def acc_noise_mps2(self, rate_hz: float) -> float:
        """Standard deviation of the white accelerometer noise at this output rate."""
        return self.acc_noise_ug_rthz * 1e-6 * G_MPS2 * float(np.sqrt(rate_hz / 2.0))

    def gyr_noise_dps(self, rate_hz: float) -> float:
        """Standard deviation of the white gyroscope noise at this output rate."""
        return self.gyr_noise_mdps_rthz * 1e-3 * float(np.sqrt(rate_hz / 2.0))

    def lsb(self, acc_range_g: int, gyr_range_dps: int) -> tuple[float, float]:
        """(m/s² per LSB, dps per LSB) for the given full-scale ranges."""
        if acc_range_g not in self.acc_lsb_g:
            raise SimError(
                f"{self.name}: accelerometer range ±{acc_range_g} g not supported; "
                f"use one of {sorted(self.acc_lsb_g)}"
            )
        if gyr_range_dps not in self.gyr_lsb_dps:
            raise SimError(
                f"{self.name}: gyroscope range ±{gyr_range_dps} dps not supported; "
                f"use one of {sorted(self.gyr_lsb_dps)}"
            )
        return self.acc_lsb_g[acc_range_g] * G_MPS2, self.gyr_lsb_dps[gyr_range_dps]


CHIPS: dict[str, ChipModel] = {
    c.name: c
    for c in (
        ChipModel(
            "mpu6050",
            "InvenSense MPU-6050",
            "InvenSense PS-MPU-6000A-00 rev 3.4 (2013), tables 6.1 and 6.2",
            acc_noise_ug_rthz=400.0,
            gyr_noise_mdps_rthz=5.0,
            acc_offset_mg=50.0,
            gyr_offset_dps=20.0,
            acc_scale_pct=3.0,
            gyr_scale_pct=3.0,
            acc_lsb_g=_INVENSENSE_ACC_LSB_G,
            gyr_lsb_dps=_INVENSENSE_GYR_LSB_DPS,
            extra={"acc_offset_z_mg": "80 (x, y: 50; the model uses 50 on all axes)"},
        ),
        ChipModel(
            "mpu6500",
            "InvenSense MPU-6500",
            "InvenSense PS-MPU-6500A-01 rev 1.1 (2014), tables 3.1 and 3.2",
            acc_noise_ug_rthz=300.0,
            gyr_noise_mdps_rthz=10.0,
            acc_offset_mg=60.0,
            gyr_offset_dps=5.0,
            acc_scale_pct=3.0,
            gyr_scale_pct=3.0,
            acc_lsb_g=_INVENSENSE_ACC_LSB_G,
            gyr_lsb_dps=_INVENSENSE_GYR_LSB_DPS,
        ),
        ChipModel(
            "mpu6886",
            "InvenSense MPU-6886 (M5Stack)",
            "InvenSense DS-000193 rev 1.1 (2017): noise and gyro sensitivity error from the "
            "feature list",
            acc_noise_ug_rthz=100.0,
            gyr_noise_mdps_rthz=4.0,
            acc_offset_mg=60.0,
            gyr_offset_dps=5.0,
            acc_scale_pct=3.0,
            gyr_scale_pct=1.0,
            acc_lsb_g=_INVENSENSE_ACC_LSB_G,
            gyr_lsb_dps=_INVENSENSE_GYR_LSB_DPS,
            notes="bias instability assumed; offsets and accel scale tolerance not verified "
            "for this part, taken from the MPU-6500 family figures",
        ),
        ChipModel(
            "icm42688p",
            "TDK InvenSense ICM-42688-P",
            "TDK InvenSense DS-000347 rev 1.x, tables 1 and 2 (low-noise mode)",
            acc_noise_ug_rthz=70.0,
            gyr_noise_mdps_rthz=2.8,
            acc_offset_mg=20.0,
            gyr_offset_dps=0.5,
            acc_scale_pct=0.5,
            gyr_scale_pct=0.5,
            acc_lsb_g=_INVENSENSE_ACC_LSB_G,
            gyr_lsb_dps=_INVENSENSE_GYR_LSB_DPS,
        ),
        ChipModel(
            "lsm6ds3",
            "ST LSM6DS3",
            "ST DocID026899 (LSM6DS3 datasheet), table 3 (high-performance mode)",
            acc_noise_ug_rthz=90.0,
            gyr_noise_mdps_rthz=7.0,
            acc_offset_mg=40.0,
            gyr_offset_dps=10.0,
            acc_scale_pct=1.0,
            gyr_scale_pct=1.0,
            acc_lsb_g=_ST_ACC_LSB_G,
            gyr_lsb_dps=_ST_GYR_LSB_DPS,
            notes="bias instability assumed; sensitivity tolerance not given as such in the "
            "datasheet, ±1 % assumed",
        ),
        ChipModel(
            "lsm6dsox",
            "ST LSM6DSOX",
            "ST DS12814 (LSM6DSOX datasheet), table 2 (high-performance mode)",
            acc_noise_ug_rthz=70.0,
            gyr_noise_mdps_rthz=3.8,
            acc_offset_mg=20.0,
            gyr_offset_dps=1.0,
            acc_scale_pct=1.0,
            gyr_scale_pct=1.0,
            acc_lsb_g=_ST_ACC_LSB_G,
            gyr_lsb_dps=_ST_GYR_LSB_DPS,
            notes="bias instability assumed; sensitivity tolerance ±1 % assumed",
        ),
    )
}


def get_chip(name: str) -> ChipModel:
    try:
        return CHIPS[name]
    except KeyError:
        raise SimError(
            f"unknown IMU chip {name!r}; use one of {', '.join(CHIPS)} or 'ideal'"
        ) from None


@dataclass(frozen=True)
class ChipErrors:
    """The errors drawn for one simulated device (part of the ground truth)."""

    acc_bias_mps2: Array
    gyr_bias_dps: Array
    acc_scale_error: Array
    gyr_scale_error: Array

    def truth(self) -> dict[str, list[float]]:
        return {
            "acc_bias_mps2": [round(float(x), 6) for x in self.acc_bias_mps2],
            "gyr_bias_dps": [round(float(x), 6) for x in self.gyr_bias_dps],
            "acc_scale_error": [round(float(x), 6) for x in self.acc_scale_error],
            "gyr_scale_error": [round(float(x), 6) for x in self.gyr_scale_error],
        }


def draw_errors(chip: ChipModel, rng: np.random.Generator) -> ChipErrors:
    """One device's turn-on biases and scale errors."""

    def draw(tol: float) -> Array:
        return np.clip(rng.normal(0.0, tol / 2.0, 3), -tol, tol)

    return ChipErrors(
        acc_bias_mps2=draw(chip.acc_offset_mg * 1e-3 * G_MPS2),
        gyr_bias_dps=draw(chip.gyr_offset_dps),
        acc_scale_error=draw(chip.acc_scale_pct / 100.0),
        gyr_scale_error=draw(chip.gyr_scale_pct / 100.0),
    )


def _gauss_markov(rng: np.random.Generator, n: int, rate_hz: float, sigma: float) -> Array:
    """(n, 3) first-order Gauss–Markov drift with stationary standard deviation ``sigma``."""
    phi = float(np.exp(-1.0 / (rate_hz * BIAS_CORRELATION_S)))
    drive = rng.standard_normal((n, 3)) * sigma * np.sqrt(1.0 - phi * phi)
    drive[0] = rng.standard_normal(3) * sigma
    return np.asarray(lfilter([1.0], [1.0, -phi], drive, axis=0), dtype=float)


def apply_errors(
    chip: ChipModel,
    errors: ChipErrors,
    acc_mps2: Array,
    gyr_dps: Array,
    rate_hz: float,
    rng: np.random.Generator,
) -> tuple[Array, Array]:
    """Scale error, bias, bias drift and white noise (no clipping, no quantisation)."""
    n = acc_mps2.shape[0]
    acc = acc_mps2 * (1.0 + errors.acc_scale_error) + errors.acc_bias_mps2
    acc += _gauss_markov(rng, n, rate_hz, chip.acc_bias_instability_mg * 1e-3 * G_MPS2)
    acc += rng.standard_normal((n, 3)) * chip.acc_noise_mps2(rate_hz)
    gyr = gyr_dps * (1.0 + errors.gyr_scale_error) + errors.gyr_bias_dps
    gyr += _gauss_markov(rng, n, rate_hz, chip.gyr_bias_instability_dps)
    gyr += rng.standard_normal((n, 3)) * chip.gyr_noise_dps(rate_hz)
    return acc, gyr


def quantise(values: Array, lsb: float) -> Array:
    """Clip to the int16 register range and round to whole LSBs (in physical units)."""
    counts = np.clip(np.round(values / lsb), -32768, 32767)
    return counts * lsb
