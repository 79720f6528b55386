"""Glute bridges (double- and single-leg): reps, phases, lift, hip drop and twist, left vs right.

Modules: ``frame`` (the lying frame set from the supine rest), ``events`` (causal rep detector),
``metrics`` (per-rep phase timing and hold angles), ``compare`` (left against right and the
weaker-side rule), ``analysis`` (recording -> JSON), ``report`` (HTML with figures).
"""
