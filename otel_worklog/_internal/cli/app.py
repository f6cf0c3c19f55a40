"""The ``otel-worklog`` command line: a typer app and its entry point.

Read commands work on the embedded store by default and on Grafana Tempo with
``--tempo URL``. Any failure a user can cause (no store, an unknown trace id,
Tempo down) ends with one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from otel_worklog._internal.cli import analyze, commands, doctor
from otel_worklog._internal.cli.common import fail, guard

__all__ = ["app", "fail", "guard", "main"]

app = typer.Typer(
    name="otel-worklog",
    help="Read the work logs of your bots: sessions, timelines, searches, escalations and trace pictures.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

commands.register(app)
doctor.register(app)
analyze.register(app)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("otel-worklog: interrupted\n")
        raise SystemExit(130) from None
