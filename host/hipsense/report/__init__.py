"""Report sinks: an analysis result -> HTML with figures, one module per test. Never imported by
the analysis package at module level."""
