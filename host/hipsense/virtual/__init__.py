"""The virtual board: the unmodified firmware on the MicroPython unix port, with simulated chips."""
