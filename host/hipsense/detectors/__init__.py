"""The clinical detectors, one package per test (walk, balance, bridge): arrays in, events out.
They never import the link session, the recording package, the orchestration or bleak."""
