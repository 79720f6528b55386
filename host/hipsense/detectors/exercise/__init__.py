"""Corrective exercises coached by the pelvis: one data-driven spec per exercise (``spec``), one
causal detector for all of them (``detector``: baseline, reps or holds, faults, live fault
events), left against right (``compare``). The offline driver is :mod:`hipsense.analysis.exercise`.
"""
