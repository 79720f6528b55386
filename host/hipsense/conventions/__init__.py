"""Conventions shared by every layer: body sides, raw column names and units, physical
constants (imports only the root's base error, in :mod:`hipsense.conventions.axes`)."""

SIDES = ("left", "right")
"""The body sides, in the order every per-side table uses."""

G_MPS2 = 9.80665
"""Standard gravity, m/s²: the conventional value of the 3rd CGPM (1901), BIPM SI Brochure,
9th edition (2019), and NIST SP 330. The one value of the host, the firmware, the simulated
chips and the benchmarks; the MicroPython copies (``firmware/fusion.py``,
``firmware/imu/_base.py``, ``virtual/mpy/_simchips.py`` and ``_simsource.py``) cannot import
it and are checked equal by ``tests/test_conventions_sources.py``."""

HEIGHT_RANGE_CM = (80.0, 250.0)
"""Body heights accepted, cm: by the patient store and by every command's ``--height``. Outside
it a height is almost surely a slip (metres or inches typed as cm), and it would scale the
sensor height, so every step length and gait speed, without a word."""

T_S = "t_s"
"""Device sample clock, seconds."""
ACC_COLUMNS = ("acc_x_mps2", "acc_y_mps2", "acc_z_mps2")
"""Specific force in the sensor frame, m/s² (+g along up at rest)."""
GYR_COLUMNS = ("gyr_x_dps", "gyr_y_dps", "gyr_z_dps")
"""Angular rate in the sensor frame, deg/s."""
