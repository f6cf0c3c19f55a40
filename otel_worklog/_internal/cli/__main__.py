"""``python -m otel_worklog._internal.cli``: the CLI without the console script."""

from otel_worklog._internal.cli.app import main

main()
