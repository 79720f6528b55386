"""Motion of the pelvis from the IMU: orientation filters (float and the board's fixed-point twin),
pelvis angles, sensor mounting, and the one IMU front end every test shares (recording or sample
blocks in, gravity/rotation signals out)."""
