"""hipsense: pelvis motion sensing, left/right asymmetry in walking, stance and bridges."""

__version__ = "0.1.0"
