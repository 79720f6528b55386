"""Report sinks: an analysis result -> a report a clinic can hand over, one module per test and
the patient's progress report, all on one layout (:mod:`hipsense.report.layout`): one
self-contained HTML file and a PDF of the same (matplotlib, no browser). Never imported by the
analysis package at module level."""
