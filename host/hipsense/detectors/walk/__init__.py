"""Walking: causal initial contacts with sides, per-step pelvic drop and ranges, left/right
symmetry and the asymmetry verdict, live and offline (docs/gait.md)."""
