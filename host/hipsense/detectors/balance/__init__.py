"""Single-leg stance test: lift-off and touch-downs from the sensor, sway, free-side drop.

Modules: ``frontend`` (streaming orientation filter and motion signals, shared with the
bridge test), ``events`` (causal lift-off / touch-down detector), ``metrics`` (sway, drop,
Trendelenburg threshold), ``compare`` (left against right, symmetry index), ``norms`` (hold
time by age), ``analysis`` (recording -> JSON), ``report`` (HTML with figures), ``errors``.
"""
