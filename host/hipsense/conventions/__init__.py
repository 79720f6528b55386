"""Conventions shared by every layer: body sides and physical constants (imports nothing)."""

SIDES = ("left", "right")
"""The body sides, in the order every per-side table uses."""

G_MPS2 = 9.80665
"""Standard gravity, m/s² (CGPM 1901). The orientation filter's nominal 9.81 is its own tuning."""
