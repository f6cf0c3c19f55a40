"""Plain-data (JSON-ready) forms of sessions, work logs and search hits, for ``--json`` and the artifact."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.query.records import EntryHit, SessionSummary, SpanRecord
from otel_worklog._internal.query.worklog import Entry, WorkLogView

__all__ = ["entry_dict", "hit_dict", "iso", "session_dict", "span_dict", "worklog_dict"]


def iso(time_ns: int) -> str:
    return _dt.datetime.fromtimestamp(time_ns / 1e9, tz=_dt.UTC).isoformat(timespec="milliseconds")


def session_dict(s: SessionSummary) -> dict[str, Any]:
    return {
        "trace_id": s.trace_id,
        "workspace": s.workspace_id,
        "type": s.workspace_type,
        "query": s.query,
        "bots": list(s.bots),
        "start": iso(s.start_ns),
        "duration_ms": round(s.duration_ms, 3),
        "status": s.status,
        "escalations": s.escalations,
        "open_escalations": s.outcome.open_escalations,
        "errors": s.errors,
        "error_entries": s.error_entries,
        "spans": s.span_count,
    }


def entry_dict(e: Entry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "step": e.step,
        "time": iso(e.time_ns),
        "bot": e.bot,
        "level": e.level,
        "category": e.category,
        "message": e.message,
        "confidence": e.confidence,
    }
    if e.mentions:
        out["mentions"] = list(e.mentions)
    if e.response_to is not None:
        out["response_to"] = e.response_to
    if e.details:
        out["details"] = e.details
    if e.low_confidence:
        out["low_confidence"] = True
    if e.insight:
        out["insight"] = True
        out["shareable"] = e.shareable
    out["span_id"] = e.span_id
    return out


def span_dict(s: SpanRecord) -> dict[str, Any]:
    return {
        "trace_id": s.trace_id,
        "span_id": s.span_id,
        "parent_span_id": s.parent_span_id,
        "name": s.name,
        "kind": s.kind,
        "start": iso(s.start_ns),
        "duration_ms": round(s.duration_ms, 3),
        "status": s.status_code,
        "status_message": s.status_message,
        "attributes": dict(s.attributes),
        "events": [{"name": e.name, "time": iso(e.time_ns), "attributes": dict(e.attributes)} for e in s.events],
        "links": [
            {"trace_id": li.trace_id, "span_id": li.span_id, "attributes": dict(li.attributes)} for li in s.links
        ],
    }


def worklog_dict(view: WorkLogView, *, mode: str = "detailed") -> dict[str, Any]:
    out: dict[str, Any] = {
        "trace_id": view.trace_id,
        "workspace": view.workspace_id,
        "type": view.workspace_type,
        "query": view.query,
        "participants": list(view.participants),
        "coordinator": view.coordinator,
        "bots": list(view.bots),
        "start": iso(view.start_ns),
        "duration_ms": round(view.duration_ms, 3),
        "status": view.status,
        "mode": mode,
        "entries": [entry_dict(e) for e in view.entries],
        "tools": [
            {
                "tool": t.name,
                "bot": t.bot,
                "status": t.status,
                "duration_ms": round(t.duration_ms, 3),
                "input": t.arguments,
                "output": t.result,
                "error_type": t.error_type,
                "error": t.error_message,
                "span_id": t.span_id,
            }
            for t in view.tools
        ],
        "handoffs": [
            {
                "from": h.from_bot,
                "to": h.to_bot,
                "artifacts": list(h.artifacts),
                "reason": h.reason,
                "time": iso(h.time_ns),
                "span_id": h.span_id,
                "received_by": [{"bot": b, "span_id": sid} for b, sid in h.receivers],
            }
            for h in view.handoffs
        ],
        "escalations": [
            {
                "reason": x.reason,
                "target": x.target,
                "bot": x.bot,
                "time": iso(x.time_ns),
                "span_id": x.span_id,
                "resolution": x.resolution,
            }
            for x in view.escalations
        ],
        "errors": [
            {
                "span": s.name,
                "bot": s.bot_name,
                "error_type": s.attributes.get(sc.ERROR_TYPE),
                "message": s.status_message,
            }
            for s in view.errors
        ],
    }
    if mode == "debug":
        out["spans"] = [span_dict(s) for s in view.spans]
    return out


def hit_dict(hit: EntryHit, entry: Entry | None = None) -> dict[str, Any]:
    """A search hit: an entry, or a failed step (``kind`` "error", with its ``error``).

    ``entry`` is the hit's entry as the work log reads it: its step is numbered across the session.
    """
    attrs = hit.event.attributes
    step = entry.step if entry is not None else attrs.get(sc.WORKLOG_STEP)
    return {
        "kind": "error" if hit.is_error else "entry",
        "error": hit.error,
        "trace_id": hit.trace_id,
        "workspace": hit.workspace_id,
        "bot": hit.bot_name,
        "span": hit.span_name,
        "span_id": hit.span_id,
        "time": iso(hit.event.time_ns),
        "step": step,
        "level": attrs.get(sc.WORKLOG_LEVEL),
        "category": attrs.get(sc.WORKLOG_CATEGORY),
        "message": attrs.get(sc.WORKLOG_MESSAGE),
        "confidence": attrs.get(sc.WORKLOG_CONFIDENCE),
    }
