"""Live sinks: sample blocks from a streaming session -> the detectors, one module per test."""
