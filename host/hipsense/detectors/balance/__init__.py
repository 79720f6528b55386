"""Single-leg stance detectors: lift-off and touch-downs from the sensor, sway, free-side drop.

Modules: ``events`` (causal lift-off / touch-down detector), ``metrics`` (sway, drop,
Trendelenburg threshold), ``norms`` (hold time by age). The IMU front end they share with the
bridge is :mod:`hipsense.motion.frontend`; left against right is
:mod:`hipsense.conventions.symmetry`; the offline driver :mod:`hipsense.analysis.balance`.
"""
