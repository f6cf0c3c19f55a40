"""The ``otel-worklog`` command line: the whole command tree, and its entry point.

Read commands work on the embedded store by default and on Grafana Tempo with
``--tempo URL``. Any failure a user can cause (no store, an unknown trace id,
Tempo down) ends with one line on stderr and a non-zero exit, never a traceback.

The tree names each command's function as ``"module:function"``: only the chosen
command's module is imported, so ``otel-worklog logs`` never loads the analytics,
the HTML views or urllib.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.cli.common import MODES, fail, guard
from otel_worklog._internal.cli.options import (
    RUN,
    Commands,
    add_command,
    add_filters,
    add_json,
    add_source,
    at_least,
    inherited,
    new_parser,
    resolve,
    unit_interval,
)
from otel_worklog._internal.settings import check_environment
from otel_worklog._internal.version import __version__

__all__ = ["App", "app", "fail", "guard", "main"]

_COMMANDS: Final = "otel_worklog._internal.cli.commands"
_ANALYZE: Final = "otel_worklog._internal.cli.analyze"
_TRACE_ID_HELP: Final = "Trace id (default: the most recent session)."


def _read_commands(commands: Commands) -> None:
    parser = add_command(commands, "demo", f"{_COMMANDS}:demo", "Play the seeds' four workspaces (A-D) into the store.")
    add_source(parser, tempo=False)
    add_json(parser)

    for name in ("logs", "workspace-logs"):  # workspace-logs: the seeds' name, kept out of the help
        _read_command(
            commands,
            name,
            "List recent workspace sessions: workspace, type, bots, duration, status, escalations, errors.",
            run="logs",
            limit=(10, "How many sessions."),
            hidden=name != "logs",
        )

    parser = _read_command(
        commands,
        "explain",
        "Show a work log as a timeline: steps, confidence, tools, handoffs and escalations.",
        trace_id=True,
    )
    parser.add_argument("-m", "--mode", choices=MODES, default="detailed", help="What to show.")

    parser = _read_command(
        commands,
        "how",
        "Search entries across sessions; show each match with the steps around it.",
        limit=(5, "How many matches."),
    )
    parser.add_argument("query", help="What to look for: 'rate limit', 'why escalate'.")
    parser.add_argument(
        "-C", "--context", dest="around", type=at_least(0, int), default=2, help="Entries of context on each side."
    )

    _read_command(
        commands,
        "escalations",
        "List escalations, newest first, with reason, workspace, bot and trace id.",
        limit=(20, "How many escalations."),
    )

    parser = _read_command(
        commands,
        "view",
        "Write one self-contained HTML page with the trace as a waterfall (a lane per bot).",
        trace_id=True,
    )
    parser.add_argument("--html", dest="html_file", type=Path, metavar="FILE", help="Where to write the page.")

    parser = _read_command(
        commands,
        "export",
        "Write a trace (or every session of a workspace with -w) as OTLP JSON.",
        trace_id=True,
        limit=(10_000, "Most sessions exported with -w."),
        bot=False,
        json=False,
    )
    parser.add_argument("-f", "--format", dest="fmt", default="otlp-json", help="Output format: otlp-json.")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="File to write (default: stdout).")

    parser = add_command(
        commands, "prune", f"{_COMMANDS}:prune", "Delete sessions older than the retention period from the store."
    )
    parser.add_argument(
        "--older-than", type=at_least(0.0), metavar="DAYS", help="Days to keep (default: OTEL_WORKLOG_RETENTION_DAYS)."
    )
    parser.add_argument("--dry-run", action="store_true", help="Only count what would go.")
    parser.add_argument("--vacuum", action="store_true", help="Give the freed space back to the disk.")
    add_source(parser, tempo=False)
    add_json(parser)


def _read_command(
    commands: Commands,
    name: str,
    summary: str,
    *,
    run: str | None = None,
    trace_id: bool = False,
    limit: tuple[int, str] | None = None,
    bot: bool = True,
    json: bool = True,
    hidden: bool = False,
) -> argparse.ArgumentParser:
    """A command of ``commands.py`` with the options every read command shares."""
    parser = add_command(commands, name, f"{_COMMANDS}:{run or name}", summary, hidden=hidden)
    if trace_id:
        parser.add_argument("trace_id", nargs="?", help=_TRACE_ID_HELP)
    add_filters(parser, bot=bot)
    if limit is not None:
        parser.add_argument("-n", "--limit", type=at_least(1, int), default=limit[0], help=limit[1])
    add_source(parser)
    if json:
        add_json(parser)
    return parser


def _analytics_commands(commands: Commands) -> None:
    analyze = add_command(
        commands,
        "analyze",
        f"{_ANALYZE}:analyze",
        "Work analytics: workflows, coordination overhead, bot trends, error clusters, bot comparison.",
    )
    _analysis_options(analyze, keep_parent=False)
    analyses = analyze.add_subparsers(title="analyses", metavar="ANALYSIS", dest="analysis")
    for name, run, summary in (
        ("workflows", "analyze_workflows_cmd", "Count, success rate, duration, bots per workflow, bot sequences."),
        ("overhead", "analyze_overhead_cmd", "Share of time in coordination against tool execution."),
        ("trends", "analyze_trends_cmd", "Recent against earlier success and duration per bot."),
        ("errors", "analyze_errors_cmd", "Top error fingerprints with counts, workspaces, first and last seen."),
        ("compare", "analyze_compare_cmd", "Sessions, success %, first-shot %, time, tokens and cost per bot."),
    ):
        parser = add_command(analyses, name, f"{_ANALYZE}:{run}", summary)
        _analysis_options(parser, keep_parent=True)
        if name in ("workflows", "errors"):
            parser.add_argument("--top", type=at_least(1, int), default=5 if name == "workflows" else 10)
        elif name == "overhead":
            parser.add_argument("--threshold", type=at_least(0.0), metavar="PERCENT", help="Default 30.")
        elif name == "trends":
            parser.add_argument("--bot", help="Only this bot.")
            parser.add_argument(
                "--recent-days", type=at_least(0.01), default=7.0, metavar="DAYS", help="What counts as recent."
            )
        elif name == "compare":
            parser.add_argument("bots", nargs="*", metavar="BOT", help="Bots to compare (default: all).")

    parser = add_command(
        commands,
        "recommend",
        f"{_ANALYZE}:recommend_cmd",
        "Which bot is best for a task, from past work (seed 003's query_best_agent).",
    )
    parser.add_argument("task", help='What needs doing, e.g. "API development".')
    parser.add_argument("--domain", help="Only bots whose history mentions this domain.")
    parser.add_argument("--all", dest="show_all", action="store_true", help="List every candidate.")
    parser.add_argument("--min-confidence", type=unit_interval, default=0.3, metavar="0..1")
    _days(parser, 90.0)
    add_source(parser)
    add_json(parser)

    parser = add_command(
        commands,
        "insights",
        f"{_ANALYZE}:insights_cmd",
        "Shareable insights (the Learning Exchange): confidence >= 0.85, with their scope.",
    )
    add_filters(parser, bot=False)
    parser.add_argument("-b", "--bot", help="Only insights whose scope applies to this bot.")
    parser.add_argument("--category", help=f"One of: {', '.join(sc.INSIGHT_CATEGORIES)}.")
    _days(parser, 90.0)
    add_source(parser)
    add_json(parser)

    parser = add_command(
        commands,
        "report",
        f"{_ANALYZE}:report_cmd",
        "The weekly report: workflows, overhead, trends, errors and bots, as Markdown or HTML with charts.",
    )
    _days(parser, 7.0)
    parser.add_argument("--format", dest="fmt", default="markdown", help="markdown or html.")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="Write here instead of stdout.")
    add_source(parser)


def _analysis_options(parser: argparse.ArgumentParser, *, keep_parent: bool) -> None:
    """Options of ``analyze`` that each analysis repeats: given after the analysis, they win."""
    add_source(parser, keep_parent=keep_parent)
    _days(parser, inherited(30.0, keep_parent))
    add_filters(parser, bot=False, keep_parent=keep_parent)
    add_json(parser, keep_parent=keep_parent)


def _days(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--days", type=at_least(0.01), default=default, metavar="N", help="Look at the last N days.")


def _doctor_command(commands: Commands) -> None:
    parser = add_command(
        commands,
        "doctor",
        "otel_worklog._internal.cli.doctor:doctor",
        "Check a running stack end to end: collector, Tempo, Prometheus and the escalation alert.",
    )
    parser.add_argument(
        "--collector-health", metavar="URL", help="health_check URL [env OTEL_WORKLOG_COLLECTOR_HEALTH_URL]."
    )
    parser.add_argument(
        "--otlp-endpoint",
        metavar="URL",
        help="OTLP/HTTP base URL [env OTEL_EXPORTER_OTLP_ENDPOINT, else the local collector].",
    )
    parser.add_argument("--tempo", metavar="URL", help="Tempo HTTP API [env OTEL_WORKLOG_TEMPO_URL].")
    parser.add_argument("--prometheus", metavar="URL", help="Prometheus HTTP API [env OTEL_WORKLOG_PROMETHEUS_URL].")
    parser.add_argument(
        "--timeout", type=at_least(0.0), metavar="SECONDS", help="Seconds to wait for trace, series and alert [180]."
    )


def build_parser() -> argparse.ArgumentParser:
    parser = new_parser(
        prog="otel-worklog",
        description="Read the work logs of your bots: sessions, timelines, searches, escalations and trace pictures.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _read_commands(commands)
    _analytics_commands(commands)
    _doctor_command(commands)
    return parser


class App:
    """The ``otel-worklog`` command: ``app(["logs", "-n", "5"])`` runs it as the shell would."""

    def __init__(self) -> None:
        self._parser: argparse.ArgumentParser | None = None

    @property
    def parser(self) -> argparse.ArgumentParser:
        if self._parser is None:
            self._parser = build_parser()
        return self._parser

    def run(self, argv: Sequence[str] | None = None) -> int:
        """Parse ``argv`` (default: ``sys.argv[1:]``), run the command and return its exit code."""
        try:
            options = vars(self.parser.parse_args(argv))  # exits 2 with a usage line on bad input
            target = options.pop(RUN, None)
            options.pop("analysis", None)
            if target is None:  # no command: say what there is
                self.parser.print_help()
                return 0
            check_environment()
            with guard():
                command = resolve(target)
            command(**options)
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
