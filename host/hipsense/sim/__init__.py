"""Motion simulator: pelvis kinematics with ground truth, synthesised into chip-realistic IMU data.

Nothing can be tested on a person here, so this is the test bench: named, seeded scenarios
(:mod:`hipsense.sim.scenarios`) built from activity models (walking, single-leg stance, bridges,
standing and sit-stand), turned into specific force and angular rate for any mounting, lever arm
and supported chip (:mod:`hipsense.sim.imu`, :mod:`hipsense.sim.chips`). See docs/simulator.md.
"""
