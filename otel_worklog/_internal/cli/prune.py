"""``otel-worklog prune``: delete sessions older than the retention period from the store."""

from __future__ import annotations

import argparse
from pathlib import Path

from otel_worklog._internal.cli.common import emit_json, fail
from otel_worklog._internal.cli.options import Command, add_json, add_source, at_least
from otel_worklog._internal.exceptions import ReaderError
from otel_worklog._internal.render.console import make_console
from otel_worklog._internal.render.units import days_text, plural
from otel_worklog._internal.store import PruneResult, connect, resolve_retention_days, resolve_store_path
from otel_worklog._internal.store import prune as prune_store
from otel_worklog._internal.store.retention import cutoff_for

__all__ = ["COMMAND", "prune"]


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--older-than", type=at_least(0.0), metavar="DAYS", help="Days to keep (default: OTEL_WORKLOG_RETENTION_DAYS)."
    )
    parser.add_argument("--dry-run", action="store_true", help="Only count what would go.")
    parser.add_argument("--vacuum", action="store_true", help="Give the freed space back to the disk.")
    add_source(parser, tempo=False)
    add_json(parser)


def _prune(path: Path, days: float, *, dry_run: bool, vacuum: bool) -> PruneResult:
    conn = connect(path, create=False)
    try:
        result = prune_store(conn, older_than_ns=cutoff_for(days), dry_run=dry_run)
        if vacuum and not dry_run:
            conn.execute("VACUUM")
    finally:
        conn.close()
    return result


def _show(result: PruneResult | None, days: float, *, dry_run: bool, as_json: bool) -> None:
    """What was (or would be) deleted; ``result`` is None when the retention keeps everything."""
    if as_json:
        counts = {"sessions": result.traces, "spans": result.spans} if result else {"sessions": 0, "spans": 0}
        emit_json({**counts, "dry_run": dry_run, "older_than_days": days if result else None})
    elif result is None:
        make_console().print("Retention is 0 days (keep everything); pass --older-than DAYS to prune.")
    else:
        verb = "Would delete" if dry_run else "Deleted"
        make_console().print(
            f"{verb} {plural(result.traces, 'session')} ({plural(result.spans, 'span')}) older than {days_text(days)}."
        )


def prune(
    older_than: float | None = None,
    dry_run: bool = False,
    vacuum: bool = False,
    store: str | None = None,
    as_json: bool = False,
) -> None:
    """Delete sessions older than the retention period from the embedded store."""
    path = resolve_store_path(store if store else ...)
    if path is None:
        raise ReaderError("the embedded store is switched off (OTEL_WORKLOG_STORE=none); pass --store PATH")
    days = older_than if older_than is not None else float(resolve_retention_days())
    if days < 0:
        raise fail("--older-than must be zero or more days")
    keep_all = older_than is None and days == 0
    result = None if keep_all else _prune(path, days, dry_run=dry_run, vacuum=vacuum)
    _show(result, days, dry_run=dry_run, as_json=as_json)


COMMAND = Command("Delete sessions older than the retention period from the store.", prune, _options)
