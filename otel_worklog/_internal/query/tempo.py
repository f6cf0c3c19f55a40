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
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.exceptions import BackendUnreachable, ReaderError, TraceNotFound
from otel_worklog._internal.query.failures import matching_failures, note_resolution
from otel_worklog._internal.query.ids import normalize_trace_id
from otel_worklog._internal.query.matching import matches, search_terms
from otel_worklog._internal.query.otlp_json import decode_resource_spans
from otel_worklog._internal.query.records import EntryHit, SearchResult, SessionSummary, SpanRecord
from otel_worklog._internal.query.summary import summarize_trace

__all__ = ["TempoReader", "printable_detail", "traceql_regex_literal", "traceql_string"]

#: Tempo's default block retention is 336 h, so search two weeks unless told otherwise.
DEFAULT_WINDOW_S = 14 * 86_400
_SEARCH_LIMIT = 20
#: A trace id prefix (as ``logs`` shows ids), looked up among this many recent traces.
_PREFIX = re.compile(r"[0-9a-f]{6,31}")
_PREFIX_SEARCH = 1000
#: What of an error body is read, and what of it is shown.
_BODY_READ = 4096
_DETAIL_CHARS = 200
#: C0 and C1 controls (tab and newline too: the detail is one line) and the bidi marks.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
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


def _kept(span: SpanRecord, workspace: str | None, bot: str | None) -> bool:
    return (workspace is None or span.workspace_id == workspace) and (bot is None or span.bot_name == bot)


def _spanset(conditions: list[str]) -> str:
    return "{ " + " && ".join(conditions) + " }" if conditions else "{ }"


def printable_detail(body: bytes, limit: int = _DETAIL_CHARS) -> str:
    """An error body as one short line a terminal cannot act on: no control or bidi characters, cut to ``limit``."""
    text = _CONTROL.sub("", " ".join(body.decode("utf-8", "replace").split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
            if exc.code == 404:
                raise TraceNotFound(f"Tempo at {self.base_url} has no {path.rsplit('/', 1)[-1]} (HTTP 404)") from exc
            detail = printable_detail(exc.read(_BODY_READ))
            raise ReaderError(f"Tempo at {self.base_url} answered HTTP {exc.code}: {detail}") from exc
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
            prefix = trace_id.strip().lower()
            if _PREFIX.fullmatch(prefix):
                return self.trace(self._by_prefix(prefix))
            raise TraceNotFound(f"no trace {full} in Tempo at {self.base_url}") from None
        spans = decode_resource_spans(payload or {})
        if not spans:
            raise TraceNotFound(f"no trace {full} in Tempo at {self.base_url}")
        self._traces[full] = spans
        return spans

    def _by_prefix(self, prefix: str) -> str:
        """The one recent trace whose id starts with ``prefix`` (as ``logs`` shows ids)."""
        found = {trace_id for trace_id, _ in self._search([], limit=_PREFIX_SEARCH) if trace_id.startswith(prefix)}
        if len(found) > 1:
            raise TraceNotFound(f"trace id prefix {prefix!r} is ambiguous; give more characters")
        if not found:
            raise TraceNotFound(f"no trace {prefix!r} in Tempo at {self.base_url}")
        return found.pop()

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

    def search(
        self, text: str, *, workspace: str | None = None, bot: str | None = None, limit: int = 50
    ) -> SearchResult:
        terms = search_terms(text)
        needle = max(terms, key=len) if terms else text.strip()
        if not needle:
            return SearchResult([], 0)
        pattern = traceql_regex_literal(needle)
        filters = self._filters(workspace, bot)
        failed = self._traces_matching(
            [
                f"(span:statusMessage =~ {pattern} || {_attr('event.exception.message')} =~ {pattern}"
                f" || {_attr('event.exception.type')} =~ {pattern})",
                *filters,
            ]
        )
        with_entries = self._traces_matching([f"{_attr('event.' + sc.WORKLOG_MESSAGE)} =~ {pattern}", *filters])
        hits: list[EntryHit] = []
        for trace_id in dict.fromkeys([*with_entries, *failed]):
            spans = [s for s in self._trace_or_none(trace_id) if _kept(s, workspace, bot)]
            hits += matching_failures(spans, text)
            hits += [
                EntryHit(trace_id, span.span_id, span.name, span.workspace_id, span.bot_name, event)
                for span in spans
                for event in span.events
                if isinstance(message := event.attributes.get(sc.WORKLOG_MESSAGE), str) and matches(message, text)
            ]
        hits.sort(key=lambda hit: hit.event.time_ns, reverse=True)
        return SearchResult(hits[: max(0, limit)], len(hits))

    def search_entries(
        self, text: str, *, workspace: str | None = None, bot: str | None = None, limit: int = 50
    ) -> list[EntryHit]:
        return self.search(text, workspace=workspace, bot=bot, limit=limit).hits

    def _traces_matching(self, conditions: list[str]) -> list[str]:
        return [trace_id for trace_id, _ in self._search(conditions, limit=_SEARCH_LIMIT)]

    def _trace_or_none(self, trace_id: str) -> list[SpanRecord]:
        """The trace's spans, or none when search listed it but it is already gone (retention)."""
        try:
            return self.trace(trace_id)
        except TraceNotFound:
            return []

    def workspaces(self) -> list[str]:
        """The values Tempo knows of the workspace attribute (none when this Tempo cannot list tag values)."""
        now = time.time()
        try:
            payload = self._get(
                f"/api/v2/search/tag/{urllib.parse.quote('span.' + sc.WORKSPACE_ID)}/values",
                {"start": int(now - DEFAULT_WINDOW_S), "end": int(now + 60)},
            )
        except ReaderError:
            return []
        values = (payload or {}).get("tagValues") or ()
        return sorted({str(v.get("value")) for v in values if isinstance(v, dict) and v.get("value")})

    def resolutions(self, trace_ids: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for trace_id in dict.fromkeys(trace_ids):
            for span in self._trace_or_none(trace_id):
                for event in span.events:
                    if event.name == sc.EVENT_ESCALATION_RESOLVED:
                        note_resolution(event.attributes, found)
        return found

    def short_trace_ids(self, trace_ids: Iterable[str], *, minimum: int = 8) -> dict[str, str]:
        """Unique among the traces this reader has seen (Tempo cannot list ids by prefix)."""
        wanted = list(dict.fromkeys(trace_ids))
        known = sorted({*wanted, *self._traces})
        shown = {}
        for trace_id in wanted:
            length = minimum
            while length < len(trace_id) and sum(1 for other in known if other.startswith(trace_id[:length])) > 1:
                length += 1
            shown[trace_id] = trace_id[:length]
        return shown

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
