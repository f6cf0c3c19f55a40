"""The command tree's building blocks, on argparse.

The CLI is run by people and by scripts many times a day, so its start-up counts:
argparse comes with the standard library and parses in microseconds, and a command's
module (with rich, SQLite, urllib...) is imported only when that command runs. Each
command is a plain function whose keyword parameters are the ``dest`` names of its
options, so it can be called directly too.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import Any, Final, NoReturn

__all__ = [
    "RUN",
    "Commands",
    "add_command",
    "add_filters",
    "add_json",
    "add_source",
    "at_least",
    "inherited",
    "new_parser",
    "resolve",
    "unit_interval",
]

#: Where the chosen command's function is kept in the parsed namespace.
RUN: Final = "_run"

Commands = Any  # argparse's ``_SubParsersAction``, private in typeshed


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Docstrings keep their line breaks, and each option shows its default."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
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
        self.exit(2, f"otel-worklog: error: {one_line} (see `{self.prog} --help`)\n")


def new_parser(**kwargs: Any) -> argparse.ArgumentParser:
    """The top-level parser; its subcommands' parsers are of the same class."""
    return _Parser(formatter_class=_Formatter, allow_abbrev=False, **kwargs)


def add_command(
    commands: Commands, name: str, run: str, summary: str, *, hidden: bool = False
) -> argparse.ArgumentParser:
    """A subcommand that calls ``run`` (``"module:function"``, imported only when chosen) with its options."""
    listed = {} if hidden else {"help": summary}  # argparse lists a subcommand only when it has help
    parser: argparse.ArgumentParser = commands.add_parser(
        name, description=summary, formatter_class=_Formatter, allow_abbrev=False, **listed
    )
    parser.set_defaults(**{RUN: run})
    return parser


def resolve(run: str) -> Callable[..., None]:
    """The function a ``"module:function"`` reference names."""
    module, _, function = run.partition(":")
    return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]


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


def add_json(parser: argparse.ArgumentParser, *, keep_parent: bool = False) -> None:
    parser.add_argument(
        "--json",
        dest="as_json",
        action="store_true",
        default=inherited(False, keep_parent),
        help="Machine-readable JSON output.",
    )


def add_filters(parser: argparse.ArgumentParser, *, bot: bool = True, keep_parent: bool = False) -> None:
    """``-w/--workspace`` and ``-b/--bot``."""
    parser.add_argument(
        "-w", "--workspace", default=inherited(None, keep_parent), help="Only this workspace (#general)."
    )
    if bot:
        parser.add_argument("-b", "--bot", default=None, help="Only this bot (@researcher or researcher).")


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
