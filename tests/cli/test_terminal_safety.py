"""Trace text that would drive the terminal (ESC sequences, bidi overrides) never reaches it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.table import Table
from rich.text import Text

import otel_worklog as wl
from otel_worklog._internal.render.console import SafeConsole
from otel_worklog._internal.render.controls import CONTROL
from tests.cli.scenario import run_cli

# Sets the window title, clears the screen, then reverses the text that follows.
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b[31m\u202eevil"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("terminal") / "worklog.db"
    wl.configure(store=str(path), exporters=[])
    try:
        with wl.workspace("#general"), wl.bot("nanobot"):
            wl.decision(f"Chose plan {ESCAPES}", confidence=0.9)
            wl.escalate(f"Need a human {ESCAPES}")
    finally:
        wl.shutdown()
    return path


@pytest.mark.parametrize(
    "args",
    [
        ("explain",),
        ("explain", "--mode", "debug"),
        ("how", "plan"),
        ("escalations",),
    ],
)
def test_no_control_character_reaches_the_terminal(store: Path, args: tuple[str, ...]) -> None:
    done = run_cli(*args, store=store)
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout and "\u202e" not in done.stdout
    assert "evil" in done.stdout  # the text itself is kept, only the controls go


def test_the_console_keeps_its_own_colours() -> None:
    out = io.StringIO()
    console = SafeConsole(file=out, force_terminal=True, color_system="standard", width=40)
    table = Table()
    table.add_column("message")
    table.add_row(Text(ESCAPES, style="red"))
    console.print(table)
    printed = out.getvalue()
    assert "\x1b[31m" in printed  # rich's red, from the style
    assert "]0;pwned" in printed and "\x1b]0;" not in printed and "\x07" not in printed
    assert "\x1b[2J" not in printed and "\u202e" not in printed


def test_every_character_the_console_drops_is_one_python_calls_unprintable() -> None:
    """The console checks a segment with ``str.isprintable()`` before its regex: no dropped character may pass it."""
    dropped = [chr(code) for code in range(0x110000) if CONTROL.match(chr(code))]
    assert len(dropped) == 0x20 - 2 + 0x21 + 5 + 4  # C0 less tab and newline, DEL and C1, the bidi marks
    assert not any(character.isprintable() for character in dropped)
    console = SafeConsole(file=io.StringIO(), width=40, highlight=False)
    console.print(Text("ok \x1b[31mred\u202e\x07 done"))
    assert console.file.getvalue() == "ok [31mred done\n"  # type: ignore[attr-defined]
