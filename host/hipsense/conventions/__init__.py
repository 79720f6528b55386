"""Conventions shared by every layer: body sides, raw column names and units, physical
constants (imports only the root's base error, in :mod:`hipsense.conventions.axes`)."""

SIDES = ("left", "right")
"""The body sides, in the order every per-side table uses."""

G_MPS2 = 9.80665
"""Standard gravity, m/s² (CGPM 1901). The orientation filter's nominal 9.81 is its own tuning."""

T_S = "t_s"
"""Device sample clock, seconds."""
ACC_COLUMNS = ("acc_x_mps2", "acc_y_mps2", "acc_z_mps2")
"""Specific force in the sensor frame, m/s² (+g along up at rest)."""
GYR_COLUMNS = ("gyr_x_dps", "gyr_y_dps", "gyr_z_dps")
"""Angular rate in the sensor frame, deg/s."""
