"""The orchestration of a streamed test: transport + session + recording writer + live sinks."""
