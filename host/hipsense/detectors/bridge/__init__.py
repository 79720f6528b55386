"""Glute bridge detectors (double- and single-leg): reps, phases, lift, hip drop and twist.

Modules: ``frame`` (the lying frame set from the supine rest), ``events`` (causal rep detector),
``metrics`` (per-rep phase timing and hold angles), ``compare`` (left against right and the
weaker-side rule). The offline driver is :mod:`hipsense.analysis.bridge`.
"""
