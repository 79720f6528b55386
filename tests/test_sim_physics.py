"""Physics of the IMU synthesis: gravity, angular rate, mounting, lever arm, chip noise."""

from __future__ import annotations

import numpy as np
import pytest
from hipsense.sim.chips import CHIPS, G_MPS2, ChipErrors, apply_errors, quantise
from hipsense.sim.imu import synthesize
from hipsense.sim.motion import PelvisMotion
from hipsense.sim.rotations import (
    cardan_from_matrix,
    matrix_from_quat,
    pelvis_to_earth,
    quat_from_matrix,
)
from hipsense.sim.scenarios import simulate
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal


def _static(tilt: float = 0.0, obliquity: float = 0.0, rotation: float = 0.0) -> PelvisMotion:
    m = PelvisMotion.standing(2.0, 1000.0)
    m.tilt_deg += tilt
    m.obliquity_deg += obliquity
    m.rotation_deg += rotation
    return m


def test_upright_at_rest_the_up_axis_reads_plus_g() -> None:
    s = synthesize(_static(), 100.0)
    np.testing.assert_allclose(s.acc_mps2, np.tile([0.0, 0.0, G_MPS2], (len(s.t_s), 1)), atol=1e-9)
    np.testing.assert_allclose(s.gyr_dps, 0.0, atol=1e-9)


@pytest.mark.parametrize(
    ("pose", "expected"),
    [
        # anterior tilt: the x (anterior) axis points partly down → negative
        ({"tilt": 10.0}, [-np.sin(np.radians(10)), 0.0, np.cos(np.radians(10))]),
        # obliquity > 0 = left side higher: the y (left) axis points partly up → positive
        ({"obliquity": 10.0}, [0.0, np.sin(np.radians(10)), np.cos(np.radians(10))]),
        # rotation about the vertical changes nothing
        ({"rotation": 30.0}, [0.0, 0.0, 1.0]),
    ],
)
def test_gravity_direction_follows_the_sign_conventions(
    pose: dict[str, float], expected: list[float]
) -> None:
    s = synthesize(_static(**pose), 100.0)
    np.testing.assert_allclose(s.acc_mps2[10], G_MPS2 * np.array(expected), atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(s.acc_mps2, axis=1), G_MPS2, atol=1e-9)


def test_gravity_magnitude_at_rest_in_the_still_scenario() -> None:
    r = simulate("still", seed=4, chip="ideal", lever_arm_m=(0.0, 0.0, 0.0))
    norm = np.linalg.norm(r.acc_mps2, axis=1)
    assert abs(float(norm.mean()) - G_MPS2) < 0.005  # sway adds only mm/s² accelerations
    assert float(np.abs(norm - G_MPS2).max()) < 0.1


def _rate_from_quaternions(q: np.ndarray, rate_hz: float) -> np.ndarray:
    """Body-frame angular rate (deg/s) between consecutive sensor→earth quaternions."""
    r = matrix_from_quat(q)
    rel = np.einsum("nji,njk->nik", r[:-1], r[1:])  # R_kᵀ R_k+1
    q_rel = quat_from_matrix(rel)
    angle = 2.0 * np.arctan2(np.linalg.norm(q_rel[:, 1:], axis=1), q_rel[:, 0])
    axis = q_rel[:, 1:] / np.maximum(np.linalg.norm(q_rel[:, 1:], axis=1, keepdims=True), 1e-15)
    return np.degrees(axis * (angle * rate_hz)[:, None])


@pytest.mark.parametrize("name", ["walk-turns", "bridge-single-weak-right"])
def test_angular_rate_equals_the_derivative_of_orientation(name: str) -> None:
    rate = 1000.0
    mount = [0.9, 0.1, -0.3, 0.2]
    r = simulate(name, seed=1, rate_hz=rate, chip="ideal", mounting=mount, duration_s=2.0)
    from_q = _rate_from_quaternions(r.quat_wxyz, rate)
    mid = 0.5 * (r.gyr_dps[:-1] + r.gyr_dps[1:])
    err = from_q - mid
    assert float(np.sqrt(np.mean(err**2))) < 0.01 * float(np.sqrt(np.mean(mid**2)))
    assert float(np.abs(err).max()) < 1.0


def test_sinusoidal_obliquity_gives_its_analytic_rate() -> None:
    m = _static()
    f_hz, amp_deg = 1.3, 5.0
    m.obliquity_deg[:] = amp_deg * np.sin(2 * np.pi * f_hz * m.t_s)
    s = synthesize(m, 200.0)
    expected = amp_deg * 2 * np.pi * f_hz * np.cos(2 * np.pi * f_hz * s.t_s)
    np.testing.assert_allclose(s.gyr_dps[1:-1, 0], expected[1:-1], atol=2e-3)
    np.testing.assert_allclose(s.gyr_dps[:, 1:], 0.0, atol=1e-9)


def test_a_known_mounting_rotation_shows_up_exactly() -> None:
    q = np.array([0.8, -0.2, 0.5, 0.1])
    m_sp = matrix_from_quat(q)
    base = simulate("walk-normal", seed=2, chip="ideal", duration_s=8.0)
    rotated = simulate("walk-normal", seed=2, chip="ideal", duration_s=8.0, mounting=list(q))
    # f_s = Mᵀ f_p, ω_s = Mᵀ ω_p: as row vectors f_s = f_p · M
    np.testing.assert_allclose(rotated.acc_mps2, base.acc_mps2 @ m_sp, atol=1e-9)
    np.testing.assert_allclose(rotated.gyr_dps, base.gyr_dps @ m_sp, atol=1e-9)
    np.testing.assert_allclose(rotated.obliquity_deg, base.obliquity_deg)


def test_lever_arm_adds_centripetal_and_tangential_acceleration() -> None:
    m = PelvisMotion.standing(4.0, 1000.0)
    omega_dps = 90.0
    m.rotation_deg[:] = omega_dps * m.t_s  # constant yaw rate about the vertical
    r_m = 0.2
    s = synthesize(m, 100.0, lever_arm_m=(r_m, 0.0, 0.0))
    w = np.radians(omega_dps)
    inner = slice(5, -5)
    np.testing.assert_allclose(s.acc_mps2[inner, 0], -(w**2) * r_m, atol=1e-6)
    np.testing.assert_allclose(s.acc_mps2[inner, 1], 0.0, atol=1e-6)
    np.testing.assert_allclose(s.acc_mps2[inner, 2], G_MPS2, atol=1e-9)
    np.testing.assert_allclose(s.gyr_dps[inner, 2], omega_dps, atol=1e-9)
    # angular acceleration about z at a point on y: tangential acc along -x
    m2 = PelvisMotion.standing(4.0, 1000.0)
    alpha_dps2 = 40.0
    m2.rotation_deg[:] = 0.5 * alpha_dps2 * m2.t_s**2
    s2 = synthesize(m2, 100.0, lever_arm_m=(0.0, r_m, 0.0))
    t = s2.t_s[inner]
    np.testing.assert_allclose(s2.acc_mps2[inner, 0], -np.radians(alpha_dps2) * r_m, atol=1e-6)
    np.testing.assert_allclose(s2.acc_mps2[inner, 1], -((np.radians(alpha_dps2) * t) ** 2) * r_m,
                               atol=1e-6)  # fmt: skip


@pytest.mark.parametrize("chip_name", sorted(CHIPS))
def test_noise_statistics_match_the_configured_density(chip_name: str) -> None:
    chip = CHIPS[chip_name]
    rate = 200.0
    n = 40_000
    truth_acc = np.tile([0.0, 0.0, G_MPS2], (n, 1))
    truth_gyr = np.zeros((n, 3))
    zero = ChipErrors(np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3))
    acc, gyr = apply_errors(chip, zero, truth_acc, truth_gyr, rate, np.random.default_rng(0))
    for noisy, truth, density in [
        (acc, truth_acc, chip.acc_noise_ug_rthz * 1e-6 * G_MPS2),
        (gyr, truth_gyr, chip.gyr_noise_mdps_rthz * 1e-3),
    ]:
        f, psd = signal.welch(noisy - truth, fs=rate, nperseg=1024, axis=0)
        band = (f > 5.0) & (f < 90.0)  # above the slow bias drift
        measured = np.sqrt(psd[band].mean(axis=0))
        np.testing.assert_allclose(measured, density, rtol=0.05)


def test_turn_on_bias_and_scale_error_are_applied_and_reported() -> None:
    r = simulate("still", seed=11, chip="mpu6050", duration_s=20.0, lever_arm_m=(0, 0, 0))
    ce = r.truth["chip_errors"]
    expected_z = G_MPS2 * (1.0 + ce["acc_scale_error"][2]) + ce["acc_bias_mps2"][2]
    assert abs(float(r.acc_mps2[:, 2].mean()) - expected_z) < 0.01
    np.testing.assert_allclose(r.gyr_dps.mean(axis=0), ce["gyr_bias_dps"], atol=0.05)
    assert max(abs(b) for b in ce["gyr_bias_dps"]) <= CHIPS["mpu6050"].gyr_offset_dps


def test_outputs_are_quantised_to_the_lsb_and_clipped_to_the_range() -> None:
    r = simulate("walk-normal", seed=0, chip="lsm6dsox", duration_s=6.0, acc_range_g=2,
                 gyr_range_dps=125, heel_strike_mps2=25.0)  # fmt: skip
    acc_lsb, _ = CHIPS["lsm6dsox"].lsb(2, 125)
    counts = r.acc_mps2 / acc_lsb
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-6)
    assert float(r.acc_mps2.max()) <= 32767 * acc_lsb + 1e-9
    assert float(np.abs(r.acc_continuous_mps2).max()) > 2 * G_MPS2  # hard heel strikes exceed ±2 g
    assert np.isclose(float(np.abs(r.acc_mps2).max()), 32768 * acc_lsb, rtol=1e-4)
    np.testing.assert_allclose(quantise(np.array([1e9, -1e9]), 0.5), [32767 * 0.5, -32768 * 0.5])


@settings(max_examples=60, deadline=None)
@given(
    tilt=st.floats(-170, 170), obliquity=st.floats(-85, 85), yaw=st.floats(-179, 179),
)  # fmt: skip
def test_cardan_and_quaternion_round_trips(tilt: float, obliquity: float, yaw: float) -> None:
    angles = np.radians(np.array([[tilt], [obliquity], [yaw]]))
    r = pelvis_to_earth(angles[0], angles[1], angles[2])
    back = np.degrees(np.array(cardan_from_matrix(r))).ravel()
    np.testing.assert_allclose(back, [tilt, obliquity, yaw], atol=1e-7)
    np.testing.assert_allclose(matrix_from_quat(quat_from_matrix(r)), r, atol=1e-12)
