"""Every view gives a session the same status: ``logs``, ``explain``, the HTML header, ``analyze compare``.

Six sessions, one per case the status rule (``status.py``) tells apart, recorded through the public
API into a real store: nothing failed; an error entry only; a tool error the bot caught (recovered);
a bot that failed; an escalation left open; an escalation resolved (in a later export batch than the
escalation itself). The CLI runs as a subprocess, the HTML opens in headless Chromium, and the same
spans are served as Tempo serves them (Tempo cannot run here: no Docker; see
tests/store/test_tempo_reader.py for the recorded response shapes).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

import otel_worklog as wl
from otel_worklog._internal.query.readers import StoreReader
from tests.cli.scenario import run_cli
from tests.store.test_tempo_reader import FakeTempo, serve
from tests.view.test_html_view import _chromium

#: workspace -> (bot, the status every view must show, whether analyze counts the bot's session a success)
EXPECTED = {
    "#clean": ("steady", "ok", True),
    "#noted": ("noting", "error", False),
    "#caught": ("catching", "recovered", True),
    "#failed": ("failing", "error", False),
    "#open": ("asking", "escalated", False),
    "#resolved": ("resolving", "ok", True),
}


@wl.tool
def fetch(url: str) -> str:
    if url.startswith("bad:"):
        raise ConnectionError(f"cannot reach {url}")
    return "page"


def _record(store: Path) -> dict[str, str]:
    """The six sessions; returns workspace -> trace id."""
    wl.configure(service_name="status-tests", store=str(store))
    ids: dict[str, str] = {}
    try:
        for workspace, (bot, _, _) in EXPECTED.items():
            with wl.workspace(workspace, type="project", participants=[bot]) as ws:
                ids[workspace] = ws.trace_id
                try:
                    with wl.bot(bot):
                        fetch("https://example.org")
                        _act(workspace)
                except RuntimeError:
                    pass  # the workspace carries on after its bot failed
    finally:
        wl.shutdown()
    return ids


def _act(workspace: str) -> None:
    if workspace == "#noted":
        wl.error("The build log could not be parsed")
    elif workspace == "#caught":
        try:
            fetch("bad://host")
        except ConnectionError:
            wl.info("Fell back to the cached page")
    elif workspace == "#failed":
        raise RuntimeError("gave up")
    elif workspace == "#open":
        wl.escalate("Which licence applies?")
    elif workspace == "#resolved":
        escalation = wl.escalate("May I delete the old branch?")
        wl.force_flush()  # the escalation is stored now; its resolution arrives in a later batch
        escalation.resolve("yes, delete it")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    store = tmp_path_factory.mktemp("status") / "w.db"
    return store, _record(store)


def _json(*args: str, store: Path | None = None) -> object:
    done = run_cli(*args, "--json", store=store)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_logs_and_explain_agree(recorded: tuple[Path, dict[str, str]]) -> None:
    store, ids = recorded
    sessions = _json("logs", "-n", "20", store=store)
    assert isinstance(sessions, list)
    by_workspace = {s["workspace"]: s["status"] for s in sessions}
    assert by_workspace == {workspace: status for workspace, (_, status, _) in EXPECTED.items()}
    for workspace, trace_id in ids.items():
        explained = _json("explain", trace_id, store=store)
        assert isinstance(explained, dict)
        assert explained["status"] == EXPECTED[workspace][1], workspace
    resolved = next(s for s in sessions if s["workspace"] == "#resolved")
    assert (resolved["escalations"], resolved["open_escalations"]) == (1, 0)


def test_analyze_compare_counts_the_same_sessions_as_successes(recorded: tuple[Path, dict[str, str]]) -> None:
    store, _ = recorded
    rows = _json("analyze", "compare", store=store)
    assert isinstance(rows, list)
    success = {row["bot"]: row["success_pct"] for row in rows}
    assert success == {bot: 100.0 if ok else 0.0 for bot, _, ok in EXPECTED.values()}


def test_the_html_header_shows_the_same_status(recorded: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    store, ids = recorded
    for workspace, trace_id in ids.items():
        page = tmp_path / f"{workspace[1:]}.html"
        done = run_cli("view", trace_id, "--html", str(page), store=store)
        assert done.returncode == 0, done.stderr
        rendered = _chromium("--virtual-time-budget=2000", "--dump-dom", page.as_uri())
        assert rendered.returncode == 0, rendered.stderr[-2000:]
        shown = [text for cls, text in _StatusText.of(rendered.stdout) if cls.startswith("status-")]
        assert shown == [EXPECTED[workspace][1]], workspace


class _StatusText(HTMLParser):
    """(class, text) of each ``<span>`` of the page Chromium rendered: the header's status is one."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[tuple[str, str]] = []
        self._open: list[str] = []

    @classmethod
    def of(cls, html: str) -> list[tuple[str, str]]:
        parser = cls()
        parser.feed(html)
        return parser.spans

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "span":
            self._open.append(dict(attrs).get("class") or "")
            self.spans.append((self._open[-1], ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open and self.spans:
            cls, text = self.spans[-1]
            self.spans[-1] = (cls, text + data)


@pytest.fixture(scope="module")
def tempo(recorded: tuple[Path, dict[str, str]]) -> Iterator[str]:
    """The same spans, served as Tempo's HTTP API serves them."""
    store, ids = recorded
    with StoreReader(store) as reader:
        fake = FakeTempo({trace_id: reader.trace(trace_id) for trace_id in ids.values()})
    fake.search = {"{ }": list(ids.values())}
    with serve(fake) as url:
        yield url


def test_the_tempo_reader_gives_the_same_statuses(recorded: tuple[Path, dict[str, str]], tempo: str) -> None:
    _, ids = recorded
    sessions = _json("logs", "-n", "20", "--tempo", tempo)
    assert isinstance(sessions, list)
    assert {s["workspace"]: s["status"] for s in sessions} == {w: status for w, (_, status, _) in EXPECTED.items()}
    for workspace, trace_id in ids.items():
        explained = _json("explain", trace_id, "--tempo", tempo)
        assert isinstance(explained, dict)
        assert explained["status"] == EXPECTED[workspace][1], workspace
