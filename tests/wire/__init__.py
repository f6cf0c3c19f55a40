"""Wire-format, cross-process, backend-down and burst tests against real OTLP receivers."""
