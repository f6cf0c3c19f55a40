"""The ``otel-worklog`` command line."""
