"""The ``otel-worklog`` command line: the command tree, and its entry point.

Read commands work on the embedded store by default and on Grafana Tempo with
``--tempo URL``. Any failure a user can cause (no store, an unknown trace id,
Tempo down) ends with one line on stderr and a non-zero exit, never a traceback.

Each command is one module of this package that declares its ``COMMAND``: its summary,
its options and its function. Only the chosen command's module is imported, so
``otel-worklog logs`` never loads the analytics, the HTML views or urllib; the full
tree is built only to list the commands or to name the one that was mistyped.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Final

from otel_worklog._internal.cli.common import EXIT_USAGE_ERROR, fail, guard
from otel_worklog._internal.cli.options import RUN, Command, add_command, new_parser
from otel_worklog._internal.settings import check_environment
from otel_worklog._internal.version import __version__

__all__ = ["COMMANDS", "HIDDEN", "App", "app", "build_parser", "fail", "guard", "main"]

_PACKAGE: Final = "otel_worklog._internal.cli"

#: Every command and its module, in the order ``otel-worklog --help`` lists them.
COMMANDS: Final = {
    "demo": "demo",
    "logs": "logs",
    "explain": "explain",
    "how": "how",
    "escalations": "escalations",
    "view": "view",
    "export": "export",
    "prune": "prune",
    "analyze": "analyze",
    "recommend": "recommend",
    "insights": "insights",
    "report": "report",
    "doctor": "doctor",
}
#: Other names that work but are not listed.
HIDDEN: Final = {"workspace-logs": "logs"}

_HELP: Final = ("-h", "--help")


def command(name: str) -> Command:
    """The command called ``name``, from its module."""
    module = {**COMMANDS, **HIDDEN}[name]
    found: Command = importlib.import_module(f"{_PACKAGE}.{module}").COMMAND
    return found


def _needed(argv: Sequence[str]) -> list[str]:
    """The commands the parser must know to parse ``argv``: the chosen one, or all to list or name them."""
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    if chosen in COMMANDS or chosen in HIDDEN:
        return [chosen]
    if chosen is None and argv and not any(arg in _HELP for arg in argv):
        return []  # --version, or an unknown option: no command is needed
    return [*COMMANDS, *HIDDEN]


def _check_text(args: Sequence[str]) -> None:
    """Refuse, in one line, an argument that is not text (bytes the terminal could not decode)."""
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raise fail(f"the argument '{_shown(arg)}' is not valid UTF-8 text", EXIT_USAGE_ERROR) from None


def _shown(arg: str) -> str:
    """``arg`` printable: undecodable bytes as ``\\xff`` (their lone surrogates), any other surrogate as ``\\ud800``."""
    try:
        return os.fsencode(arg).decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no byte decodes to: passed in by a program, not a terminal
        return arg.encode("utf-8", "backslashreplace").decode("ascii")


def build_parser(names: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser with the commands ``names`` (default: all)."""
    parser = new_parser(
        prog="otel-worklog",
        description="Read the work logs of your bots: sessions, timelines, searches, escalations and trace pictures.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in [*COMMANDS, *HIDDEN] if names is None else names:
        add_command(commands, name, command(name), hidden=name in HIDDEN)
    return parser


class App:
    """The ``otel-worklog`` command: ``app(["logs", "-n", "5"])`` runs it as the shell would."""

    def run(self, argv: Sequence[str] | None = None) -> int:
        """Parse ``argv`` (default: ``sys.argv[1:]``), run the command and return its exit code."""
        args = list(sys.argv[1:] if argv is None else argv)
        try:
            _check_text(args)
            parser = build_parser(_needed(args))
            options = vars(parser.parse_args(args))  # exits 2 with a usage line on bad input
            run = options.pop(RUN, None)
            if run is None:  # no command: say what there is
                parser.print_help()
                return 0
            check_environment()
            with guard():
                run(**options)
        except SystemExit as done:
            return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        return 0

    def __call__(self, argv: Sequence[str] | None = None) -> None:
        raise SystemExit(self.run(argv))


app: Final = App()


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        app(argv)
    except KeyboardInterrupt:
        sys.stderr.write("otel-worklog: interrupted\n")
        raise SystemExit(130) from None
