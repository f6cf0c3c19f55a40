"""The :class:`TraceReader` over Grafana Tempo's HTTP API.

Search goes through ``GET /api/search`` with a TraceQL ``q=`` and an explicit
``start``/``end`` window (without one Tempo searches only recent live data);
traces come from ``GET /api/v2/traces/<id>``. Tempo's trace JSON carries
base64 ids and its search hex ids with leading zeros trimmed; both are
normalised to 32-character hex. Every piece of user text (workspace, bot,
search words) goes into TraceQL through :func:`traceql_string`, so it cannot
break out of its string literal.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.exceptions import BackendUnreachable, ReaderError, TraceNotFound
from otel_worklog._internal.query.ids import normalize_trace_id
from otel_worklog._internal.query.otlp_json import decode_resource_spans
from otel_worklog._internal.query.records import EntryHit, SessionSummary, SpanRecord
from otel_worklog._internal.query.summary import summarize_trace

__all__ = ["TempoReader", "entry_matches", "traceql_regex_literal", "traceql_string"]

#: Tempo's default block retention is 336 h, so search two weeks unless told otherwise.
DEFAULT_WINDOW_S = 14 * 86_400
_SEARCH_LIMIT = 20
_WORD = re.compile(r"\w+", re.UNICODE)
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def traceql_string(value: str) -> str:
    """``value`` as a TraceQL double-quoted string literal: quotes, backslashes and control characters escaped."""
    out = []
    for char in str(value):
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def traceql_regex_literal(text: str) -> str:
    """A case-insensitive RE2 pattern matching ``text`` anywhere, as a TraceQL string literal."""
    return traceql_string("(?i).*" + re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", text) + ".*")


def _attr(name: str) -> str:
    """A TraceQL attribute path; names that are not plain dotted identifiers are quoted."""
    scope, _, key = name.partition(".")
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", key):
        return f"{scope}.{key}"
    return f"{scope}.{traceql_string(key)}"


def _spanset(conditions: list[str]) -> str:
    return "{ " + " && ".join(conditions) + " }" if conditions else "{ }"


def entry_matches(message: str, text: str) -> bool:
    """The same rule the store applies: every word of ``text`` appears (the last as a prefix), or a substring."""
    lowered = message.lower()
    if text.strip().lower() in lowered:
        return True
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return False
    found = [w.lower() for w in _WORD.findall(message)]
    return all(w in found for w in words[:-1]) and any(f.startswith(words[-1]) for f in found)


class TempoReader:
    """Reads traces from the Tempo at ``base_url`` (for example ``http://localhost:3200``)."""

    def __init__(self, base_url: str, *, timeout_s: float = 10.0) -> None:
        url = base_url.strip().rstrip("/")
        if not re.match(r"^https?://", url):
            url = "http://" + url
        self.base_url = url
        self.timeout_s = timeout_s
        self._traces: dict[str, list[SpanRecord]] = {}

    # -- HTTP -------------------------------------------------------------------
    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            detail = " ".join(exc.read(300).decode("utf-8", "replace").split())
            if exc.code == 404:
                raise TraceNotFound(f"Tempo at {self.base_url} has no {path.rsplit('/', 1)[-1]} (HTTP 404)") from exc
            raise ReaderError(f"Tempo at {self.base_url} answered HTTP {exc.code}: {detail[:200]}") from exc
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise BackendUnreachable(f"cannot reach Tempo at {self.base_url}: {reason}") from exc
        try:
            return json.loads(body)
        except ValueError as exc:
            raise ReaderError(f"Tempo at {self.base_url} sent something that is not JSON") from exc

    def _search(
        self,
        conditions: list[str],
        *,
        limit: int = _SEARCH_LIMIT,
        since_ns: int | None = None,
        until_ns: int | None = None,
    ) -> list[tuple[str, int]]:
        """(trace id, start ns) of matching traces, newest first."""
        now = time.time()
        start = int(since_ns // 1_000_000_000) if since_ns is not None else int(now - DEFAULT_WINDOW_S)
        end = int(until_ns // 1_000_000_000) + 1 if until_ns is not None else int(now + 60)
        payload = self._get(
            "/api/search", {"q": _spanset(conditions), "start": start, "end": end, "limit": max(1, limit), "spss": 10}
        )
        found: list[tuple[str, int]] = []
        for item in (payload or {}).get("traces") or ():
            trace_id = normalize_trace_id(item.get("traceID"))
            if trace_id is None:
                continue
            try:
                started = int(item.get("startTimeUnixNano") or 0)
            except (TypeError, ValueError):
                started = 0
            found.append((trace_id, started))
        found.sort(key=lambda pair: pair[1], reverse=True)
        return found

    @staticmethod
    def _filters(workspace: str | None, bot: str | None) -> list[str]:
        conditions = []
        if workspace is not None:
            conditions.append(f"{_attr('span.' + sc.WORKSPACE_ID)} = {traceql_string(workspace)}")
        if bot is not None:
            conditions.append(f"{_attr('span.' + sc.BOT_NAME)} = {traceql_string(bot)}")
        return conditions

    # -- TraceReader ------------------------------------------------------------
    def trace(self, trace_id: str) -> list[SpanRecord]:
        full = normalize_trace_id(trace_id)
        if full is None:
            raise TraceNotFound(f"{trace_id!r} is not a trace id (32 hex characters)")
        cached = self._traces.get(full)
        if cached is not None:
            return cached
        try:
            payload = self._get(f"/api/v2/traces/{full}")
        except TraceNotFound:
            raise TraceNotFound(f"no trace {full} in Tempo at {self.base_url}") from None
        spans = decode_resource_spans(payload or {})
        if not spans:
            raise TraceNotFound(f"no trace {full} in Tempo at {self.base_url}")
        self._traces[full] = spans
        return spans

    def sessions(
        self,
        *,
        workspace: str | None = None,
        bot: str | None = None,
        limit: int = 20,
        since_ns: int | None = None,
        until_ns: int | None = None,
    ) -> list[SessionSummary]:
        found = self._search(self._filters(workspace, bot), limit=limit, since_ns=since_ns, until_ns=until_ns)
        out: list[SessionSummary] = []
        for trace_id, _ in found[:limit]:
            try:
                summary = summarize_trace(self.trace(trace_id))
            except TraceNotFound:
                continue  # listed by search but already gone (retention)
            if summary is not None:
                out.append(summary)
        out.sort(key=lambda s: s.start_ns, reverse=True)
        return out

    def latest_trace_id(self, *, workspace: str | None = None, bot: str | None = None) -> str | None:
        found = self._search(self._filters(workspace, bot))
        return found[0][0] if found else None

    def search_entries(
        self, text: str, *, workspace: str | None = None, bot: str | None = None, limit: int = 50
    ) -> list[EntryHit]:
        words = _WORD.findall(text)
        needle = max(words, key=len) if words else text.strip()
        if not needle:
            return []
        conditions = [f"{_attr('event.' + sc.WORKLOG_MESSAGE)} =~ {traceql_regex_literal(needle)}"]
        conditions += self._filters(workspace, bot)
        hits: list[EntryHit] = []
        for trace_id, _ in self._search(conditions, limit=_SEARCH_LIMIT):
            try:
                spans = self.trace(trace_id)
            except TraceNotFound:
                continue
            for span in spans:
                if workspace is not None and span.workspace_id != workspace:
                    continue
                if bot is not None and span.bot_name != bot:
                    continue
                for event in span.events:
                    message = event.attributes.get(sc.WORKLOG_MESSAGE)
                    if isinstance(message, str) and entry_matches(message, text):
                        hits.append(
                            EntryHit(trace_id, span.span_id, span.name, span.workspace_id, span.bot_name, event)
                        )
        hits.sort(key=lambda hit: hit.event.time_ns, reverse=True)
        return hits[:limit]

    def escalations(
        self, *, workspace: str | None = None, bot: str | None = None, limit: int = 50, since_ns: int | None = None
    ) -> list[SpanRecord]:
        conditions = [f"{_attr('span.' + sc.WORKLOG_ESCALATION)} = true", *self._filters(workspace, bot)]
        found: list[SpanRecord] = []
        for trace_id, _ in self._search(conditions, limit=max(limit, _SEARCH_LIMIT), since_ns=since_ns):
            try:
                spans = self.trace(trace_id)
            except TraceNotFound:
                continue
            found.extend(
                s
                for s in spans
                if s.is_escalation
                and (workspace is None or s.workspace_id == workspace)
                and (bot is None or s.bot_name == bot)
                and (since_ns is None or s.start_ns >= since_ns)
            )
        found.sort(key=lambda s: s.start_ns, reverse=True)
        return found[:limit]

    def iter_spans(
        self, *, since_ns: int | None = None, until_ns: int | None = None, workspace: str | None = None
    ) -> Iterator[SpanRecord]:
        found = self._search(self._filters(workspace, None), limit=1000, since_ns=since_ns, until_ns=until_ns)
        for trace_id, _ in sorted(found, key=lambda pair: pair[1]):
            try:
                yield from self.trace(trace_id)
            except TraceNotFound:
                continue

    def close(self) -> None:
        self._traces.clear()
