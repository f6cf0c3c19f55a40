"""The command tree's building blocks, on argparse.

The CLI is run by people and by scripts many times a day, so its start-up counts:
argparse comes with the standard library and parses in microseconds, and a command's
module (with rich, SQLite, urllib...) is imported only when that command runs.

Each command's module declares one :class:`Command`: its summary, the options it adds
and the function they are passed to. The function's keyword parameters are the ``dest``
names of its options (tests/cli/test_command_tree.py checks every command), so it can be
called directly too.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, NoReturn

__all__ = [
    "RUN",
    "Command",
    "Commands",
    "add_command",
    "add_filters",
    "add_json",
    "add_limit",
    "add_source",
    "add_subcommands",
    "add_trace_id",
    "add_utc",
    "at_least",
    "inherited",
    "new_parser",
    "unit_interval",
]

#: Where the chosen command's function is kept in the parsed namespace.
RUN: Final = "_run"

Commands = Any  # argparse's ``_SubParsersAction``, private in typeshed

_BARE_PERCENT = re.compile(r"%(?!\()")


def _no_options(parser: argparse.ArgumentParser) -> None:
    """A command without options of its own."""


@dataclass(frozen=True)
class Command:
    """One command: the line that lists it, the options it adds, and the function they are passed to."""

    summary: str
    run: Callable[..., None]
    options: Callable[[argparse.ArgumentParser], None] = _no_options


class _Formatter(argparse.HelpFormatter):
    """Text wrapped to the terminal, each option shows its default, and ``%`` is just a character."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        # argparse fills help text in with ``%``: a bare one ("success %") would crash ``--help``.
        text = _BARE_PERCENT.sub("%%", action.help or "")
        if (
            action.default not in (None, False, argparse.SUPPRESS)
            and "%(default)" not in text
            and action.option_strings
        ):
            text += " (default: %(default)s)"
        return text


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error of the CLI, with where to find help."""

    def error(self, message: str) -> NoReturn:
        one_line = " ".join(message.split())
        if one_line.startswith("argument -w/--workspace: expected one argument"):
            # Unquoted, `-w #general` reaches us as a bare `-w`: the shell took the rest for a comment.
            one_line += " (quote a name that starts with #: -w '#general')"
        self.exit(2, f"otel-worklog: error: {one_line} (see `{self.prog} --help`)\n")


def new_parser(**kwargs: Any) -> argparse.ArgumentParser:
    """The top-level parser; its subcommands' parsers are of the same class."""
    return _Parser(formatter_class=_Formatter, allow_abbrev=False, **kwargs)


def add_command(commands: Commands, name: str, command: Command, *, hidden: bool = False) -> argparse.ArgumentParser:
    """Add ``command`` as ``name``: its options, and its function as what the parsed options go to."""
    listed = {} if hidden else {"help": command.summary}  # argparse lists a subcommand only when it has help
    parser: argparse.ArgumentParser = commands.add_parser(
        name, description=command.summary, formatter_class=_Formatter, allow_abbrev=False, **listed
    )
    command.options(parser)
    parser.set_defaults(**{RUN: command.run})
    return parser


def add_subcommands(parser: argparse.ArgumentParser, title: str, metavar: str, commands: Mapping[str, Command]) -> None:
    """Subcommands of a command: a subcommand's function replaces the command's own."""
    subparsers = parser.add_subparsers(title=title, metavar=metavar)
    for name, command in commands.items():
        add_command(subparsers, name, command)


def inherited(default: Any, keep: bool) -> Any:
    """The default of an option that a parent command also has.

    argparse copies every value a subcommand parsed over its parent's, so an option the
    user left out after the subcommand must not be set at all: then the value given before
    the subcommand, or the parent's default, stands.
    """
    return argparse.SUPPRESS if keep else default


def add_source(parser: argparse.ArgumentParser, *, keep_parent: bool = False, tempo: bool = True) -> None:
    """``--store`` and ``--tempo``: where the traces are read from."""
    parser.add_argument(
        "--store",
        default=inherited(None, keep_parent),
        metavar="PATH",
        help="Store file (default: OTEL_WORKLOG_STORE, else the XDG data dir).",
    )
    if tempo:
        parser.add_argument(
            "--tempo",
            default=inherited(None, keep_parent),
            metavar="URL",
            help="Read from Grafana Tempo at this URL instead of the store.",
        )


def add_json(parser: argparse.ArgumentParser, *, keep_parent: bool = False, help: str | None = None) -> None:
    """``--json``: the command's data, for scripts."""
    parser.add_argument(
        "--json",
        dest="as_json",
        action="store_true",
        default=inherited(False, keep_parent),
        help=help or "Machine-readable JSON output.",
    )


def add_utc(parser: argparse.ArgumentParser, *, keep_parent: bool = False) -> None:
    """``--utc``: times in UTC instead of local time (either way the zone is shown)."""
    parser.add_argument(
        "--utc",
        action="store_true",
        default=inherited(False, keep_parent),
        help="Show times in UTC instead of local time (the zone is shown either way).",
    )


def add_trace_id(parser: argparse.ArgumentParser) -> None:
    """The optional ``TRACE_ID`` argument."""
    parser.add_argument("trace_id", nargs="?", help="Trace id, or the start of one (default: the most recent session).")


def add_filters(parser: argparse.ArgumentParser, *, bot: bool = True, keep_parent: bool = False) -> None:
    """``-w/--workspace`` and ``-b/--bot``."""
    parser.add_argument(
        "-w",
        "--workspace",
        default=inherited(None, keep_parent),
        help="Only this workspace ('#general' or general; quote a name that starts with #).",
    )
    if bot:
        parser.add_argument("-b", "--bot", default=None, help="Only this bot (@researcher or researcher).")


def add_limit(parser: argparse.ArgumentParser, default: int, help: str) -> None:
    """``-n/--limit``."""
    parser.add_argument("-n", "--limit", type=at_least(1, int), default=default, help=help)


def at_least(minimum: float, kind: Callable[[str], Any] = float) -> Callable[[str], Any]:
    """An argparse ``type`` that refuses values below ``minimum`` with a clear message."""

    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text} is below the minimum {minimum:g}")
        return value

    convert.__name__ = kind.__name__  # argparse names the type in its messages
    return convert


def unit_interval(text: str) -> float:
    """A number from 0 to 1 (a confidence)."""
    value = at_least(0.0)(text)
    if value > 1.0:
        raise argparse.ArgumentTypeError(f"{text} is above the maximum 1")
    return float(value)
