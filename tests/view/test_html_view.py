"""The HTML waterfall, written by the CLI and opened in real headless Chromium."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import tempfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from opentelemetry import trace

import otel_worklog as wl
from otel_worklog._internal.query.records import SpanRecord
from otel_worklog._internal.render.html import render_html
from tests.cli.scenario import HOSTILE, SECOND_REASON, fill_store, run_cli
from tests.conftest import require_tool
from tests.view.devtools import HEADLESS, Browser, chromium


class Dom(HTMLParser):
    """Just enough of the DOM Chromium dumped: elements with attributes, and the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self._in_title = False
        self._in_body = False
        self.title = ""  # the document title (SVG <title> tooltips in the body are not it)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        self._in_body = self._in_body or tag == "body"
        self._in_title = tag == "title" and not self._in_body

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_title:
            self.title += data

    def find(self, tag: str, cls: str | None = None) -> list[dict[str, str]]:
        return [
            attrs
            for name, attrs in self.elements
            if name == tag and (cls is None or cls in attrs.get("class", "").split())
        ]


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    binary = require_tool("chromium")
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [binary, *HEADLESS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def _dump(page: Path) -> Dom:
    done = _chromium("--virtual-time-budget=2000", "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = Dom()
    dom.feed(done.stdout)
    return dom


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("view")
    ids = fill_store(base / "w.db")
    target = base / "project.html"
    done = run_cli("view", ids["project"], "--html", str(target), store=base / "w.db")
    assert done.returncode == 0, done.stderr
    return target, ids


@pytest.mark.needs_chromium
class TestInChromium:
    def test_lanes_escalation_and_handoff_link(self, page: tuple[Path, dict[str, str]]) -> None:
        path, _ = page
        dom = _dump(path)
        lanes = {attrs["data-bot"] for attrs in dom.find("g", "lane")}
        assert lanes == {"(workspace)", "nanobot", "researcher", "coder"}
        escalated = dom.find("g", "escalation")
        assert len(escalated) == 1
        text = " ".join(dom.text)
        assert SECOND_REASON in text
        assert dom.find("section", "escalation-banner")
        links = dom.find("path", "handoff-link")
        assert [(link["data-from"], link["data-to"]) for link in links] == [("nanobot", "researcher")]
        assert links[0]["d"].startswith("M")  # an actual drawn curve
        assert dom.find("g", "error")  # the failed tool call is marked
        assert "60%" in text  # the low-confidence decision shows its confidence

    def test_script_in_a_message_is_text_and_never_runs(
        self, page: tuple[Path, dict[str, str]], tmp_path: Path
    ) -> None:
        path, _ = page
        html = path.read_text()
        # Escaping, not only the page's CSP, is what keeps it inert: load it with the CSP removed too.
        without_csp = tmp_path / "no-csp.html"
        without_csp.write_text(html.replace('http-equiv="Content-Security-Policy"', 'name="removed-csp"'))
        for candidate in (path, without_csp):
            dom = _dump(candidate)
            assert dom.find("script") == []
            assert dom.find("img") == []
            assert "pwned" not in dom.title
            assert dom.title.startswith("Work log")
            assert HOSTILE in "".join(dom.text)  # shown to the reader as text

    def test_screenshot_renders(self, page: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
        path, _ = page
        shot = tmp_path / "shot.png"
        done = _chromium("--window-size=1300,1000", f"--screenshot={shot}", path.as_uri())
        assert done.returncode == 0, done.stderr[-2000:]
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_page_is_self_contained_and_escaped() -> None:
    evil = '"><svg onload=alert(1)>'
    span = SpanRecord(
        trace_id="1" * 32,
        span_id="2" * 16,
        parent_span_id=None,
        name=f"workspace {evil}",
        kind="INTERNAL",
        start_ns=1,
        end_ns=2,
        status_code="UNSET",
        attributes={"workspace.id": evil, "bot.name": evil},
    )
    page = render_html([span])
    assert "<svg onload" not in page and "alert(1)>" not in page.replace("&gt;", "")
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page and "<script" not in page and "<link" not in page
    assert "Content-Security-Policy" in page


# --- What a person sees, measured in the rendered page over the DevTools protocol ----------------------------------

SCRIPT_ARG = "<script>document.title='pwned-by-argument'</script>"
SCRIPT_REASON = "<script>document.title='pwned-by-reason'</script> may I?"
RESOLUTION = "yes, up to $50 a month"
CUSTOM_KEY, CUSTOM_VALUE = "ticket.id", "T-42 <b>urgent</b>"


@wl.tool
def search_docs(query: str, limit: int) -> dict[str, object]:
    return {"hits": ["redis.io/docs"], "query": query, "limit": limit}


@wl.tool
def fetch_page(url: str) -> str:
    raise ConnectionError(f"cannot reach {url}")


def _record_quick_session(store: Path) -> str:
    """A session of a few milliseconds: close low-confidence decisions, a handoff, tools, an alert, escalations."""
    wl.configure(service_name="html-view", store=str(store), detectors={"low_confidence_streak": {"streak": 3}})
    try:
        with wl.workspace("#quick", type="project", participants=["planner", "researcher"], query="Pick a cache") as ws:
            with wl.bot("planner"):
                wl.decision("Maybe Redis", confidence=0.4)
                wl.decision("Or memcached", confidence=0.3)
                wl.decision(f"Or nothing {HOSTILE}", confidence=0.2)
                wl.decision("Settled on Redis", confidence=0.9)
                handoff = wl.handoff("researcher", artifacts=["notes.md"], reason="check the docs")
            with wl.bot("researcher", handoff=handoff):
                trace.get_current_span().set_attribute(CUSTOM_KEY, CUSTOM_VALUE)  # the user's own attribute
                search_docs(f"redis eviction {SCRIPT_ARG}", 3)
                try:
                    fetch_page("https://unreachable.invalid")
                except ConnectionError:
                    wl.correction("The page is down; the docs are enough")
                wl.info(HOSTILE)
                wl.escalate("Is a paid Redis plan allowed?").resolve(RESOLUTION)
                wl.escalate(SCRIPT_REASON)
        return ws.trace_id
    finally:
        wl.shutdown()


_MEASURE = """(() => {
  const all = (selector) => [...document.querySelectorAll(selector)];
  const box = (e) => { const r = e.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, text: e.textContent}; };
  const own = (node, selector) => node.querySelector(':scope > summary ' + selector).textContent;
  return {
    title: document.title,
    scripts: all('script').length,
    texts: all('svg text').map(box),
    confidence: all('svg text.conf').map(box),
    markers: all('.handoff-marker').map(box),
    dots: all('svg circle.event').map(box),
    ticks: all('text.tick-label').map((e) => e.textContent),
    nodes: all('details.node').map((e) => {
      const parent = e.parentElement.closest('details.node');
      return {id: e.dataset.spanId, parent: parent ? parent.dataset.spanId : null,
              name: own(e, '.name'), status: own(e, '.sstat'), kind: own(e, '.kind')};
    }),
    tree: box(document.querySelector('nav.tree')),
    lanes: box(document.querySelector('.lanes')),
    escalations: all('tr.escalation-item').map((e) => e.innerText),
    alerts: all('tr.alert-item').map((e) => e.innerText),
    header: document.querySelector('header').innerText,
    text: document.body.innerText,
  };
})()"""


def _intersect(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def _overlapping(boxes: list[dict[str, float]], others: list[dict[str, float]] | None = None) -> list[tuple[str, str]]:
    pairs = itertools.combinations(boxes, 2) if others is None else itertools.product(boxes, others)
    return [(str(a.get("text")), str(b.get("text"))) for a, b in pairs if _intersect(a, b)]


@pytest.fixture(scope="module")
def quick_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("quick")
    trace_id = _record_quick_session(base / "w.db")
    target = base / "quick.html"
    done = run_cli("view", trace_id, "--html", str(target), store=base / "w.db")
    assert done.returncode == 0, done.stderr
    return target


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium(width=1400, height=1000) as opened:
        yield opened


@pytest.mark.needs_chromium
class TestWhatAPersonSees:
    def test_span_tree_beside_the_lanes_with_parent_and_child(self, quick_page: Path, browser: Browser) -> None:
        seen = browser.open(quick_page.as_uri()).evaluate(_MEASURE)
        nodes = {node["name"]: node for node in seen["nodes"]}
        by_id = {node["id"]: node for node in seen["nodes"]}
        workspace = nodes["workspace #quick"]
        assert workspace["parent"] is None and workspace["kind"] == "workspace"
        assert by_id[nodes["invoke_agent planner"]["parent"]] is workspace
        assert nodes["execute_tool search_docs"]["parent"] == nodes["invoke_agent researcher"]["id"]
        assert nodes["execute_tool search_docs"]["kind"] == "tool"
        # The receiving bot hangs under the handoff span that sent the work to it.
        assert nodes["invoke_agent researcher"]["parent"] == nodes["handoff planner -> researcher"]["id"]
        tree, lanes = seen["tree"], seen["lanes"]
        assert tree["right"] <= lanes["left"] and tree["top"] < lanes["bottom"] and lanes["top"] < tree["bottom"]

    def test_real_status_of_each_span(self, quick_page: Path, browser: Browser) -> None:
        seen = browser.open(quick_page.as_uri()).evaluate(_MEASURE)
        statuses = {node["name"]: node["status"] for node in seen["nodes"]}
        assert statuses["execute_tool fetch_page"] == "ERROR"
        assert statuses["execute_tool search_docs"] == "OK" and statuses["invoke_agent researcher"] == "OK"
        assert "UNSET" not in seen["text"]
        assert "status escalated" in seen["header"]  # one escalation is still open

    def test_a_tools_arguments_are_on_the_page(self, quick_page: Path, browser: Browser) -> None:
        page = browser.open(quick_page.as_uri())
        tool = "details.node[data-span-id] > summary .name"
        shown = page.evaluate(
            f"""(() => {{
              const node = [...document.querySelectorAll('{tool}')]
                .find((e) => e.textContent === 'execute_tool search_docs').closest('details.node');
              const args = node.querySelector(':scope > .node-body > .payload.arguments pre');
              const result = node.querySelector(':scope > .node-body > .payload.result pre');
              const seen = {{args: args.innerText, result: result.innerText, open: args.checkVisibility()}};
              node.parentElement.closest('details.node').open = false;  // a reader folds the researcher away
              return {{...seen, folded: args.checkVisibility()}};
            }})()"""
        )
        assert json.loads(shown["args"]) == {"query": f"redis eviction {SCRIPT_ARG}", "limit": 3}
        assert json.loads(shown["result"])["hits"] == ["redis.io/docs"]
        assert shown["open"] is True and shown["folded"] is False

    def test_no_two_labels_intersect_nor_a_label_and_a_handoff_marker(self, quick_page: Path, browser: Browser) -> None:
        seen = browser.open(quick_page.as_uri()).evaluate(_MEASURE)
        confidence = seen["confidence"]
        assert sorted(label["text"] for label in confidence) == ["20%", "30%", "40%", "90%"]
        assert _overlapping(seen["texts"]) == []
        assert seen["markers"], "the handoff is drawn with its markers"
        assert _overlapping(confidence, seen["markers"]) == []
        assert _overlapping(confidence, seen["dots"]) == []

    def test_time_axis_reads_for_a_trace_of_a_few_milliseconds(self, quick_page: Path, browser: Browser) -> None:
        ticks = browser.open(quick_page.as_uri()).evaluate(_MEASURE)["ticks"]
        assert len(ticks) >= 3 and len(set(ticks)) == len(ticks), ticks
        units = {tick.split()[-1] for tick in ticks}
        assert len(units) == 1, ticks
        values = [float(tick.split()[0]) for tick in ticks]
        assert values == sorted(values) and values[0] == 0

    def test_escalations_with_their_resolution_and_alerts(self, quick_page: Path, browser: Browser) -> None:
        seen = browser.open(quick_page.as_uri()).evaluate(_MEASURE)
        resolved, still_open = seen["escalations"]
        assert "Is a paid Redis plan allowed?" in resolved and f"resolved: {RESOLUTION}" in resolved
        assert SCRIPT_REASON in still_open and "open" in still_open
        (alert,) = seen["alerts"]
        assert "low_confidence_streak" in alert and "request_clarification" in alert

    def test_script_in_any_text_is_shown_as_text(self, quick_page: Path, browser: Browser) -> None:
        seen = browser.open(quick_page.as_uri()).evaluate(_MEASURE)
        assert seen["scripts"] == 0 and seen["title"] == "Work log · #quick"
        for hostile in (HOSTILE, SCRIPT_ARG, SCRIPT_REASON):
            assert hostile in seen["text"]


@pytest.mark.needs_chromium
def test_start_time_is_local_with_its_zone_or_utc_when_asked(
    quick_page: Path, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page follows the terminal views' clock: local time with the zone shown, and ``--utc`` for UTC."""
    store = quick_page.parent / "w.db"
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # +05:30 all year: no daylight saving time to trip on
    shown = {}
    for name, extra in (("local", ()), ("utc", ("--utc",))):
        target = quick_page.parent / f"clock-{name}.html"
        done = run_cli("view", "--html", str(target), *extra, store=store)
        assert done.returncode == 0, done.stderr
        shown[name] = browser.open(target.as_uri()).evaluate("document.querySelector('header').innerText")
    when = r"started (\d{4}-\d\d-\d\d) (\d\d):(\d\d):\d\d "
    local = re.search(when + r"\+05:30 ·", shown["local"])
    utc = re.search(when + r"UTC ·", shown["utc"])
    assert local and utc, shown
    for text in shown.values():
        assert "+00:00" not in text and not re.search(r"\d\dT\d\d", text)  # no ISO stamp is shown
    # The same moment: local is five and a half hours ahead.
    minutes = [int(found.group(2)) * 60 + int(found.group(3)) for found in (local, utc)]
    assert (minutes[0] - minutes[1]) % (24 * 60) == 5 * 60 + 30


_NODE = """(name) => [...document.querySelectorAll('details.node > summary .name')]
  .find((e) => e.textContent === name).closest('details.node')"""


@pytest.mark.needs_chromium
def test_every_attribute_of_a_span_is_shown_when_unfolded(quick_page: Path, browser: Browser) -> None:
    """Not only a tool's arguments: the bot span's own, GenAI and user-set attributes, under "Attributes"."""
    page = browser.open(quick_page.as_uri())
    seen = page.evaluate(
        f"""(() => {{
          const node = ({_NODE})('invoke_agent researcher');
          const box = node.querySelector(':scope > .node-body > details.attributes');
          const cell = box.querySelector('td');
          const folded = cell.checkVisibility();
          box.querySelector('summary').click();  // a reader unfolds the attributes
          return {{folded, open: cell.checkVisibility(), summary: box.querySelector('summary').innerText,
                   rows: [...box.querySelectorAll('tr')].map((tr) => [...tr.cells].map((td) => td.innerText))}};
        }})()"""
    )
    rows = dict(seen["rows"])
    assert seen["folded"] is False and seen["open"] is True
    assert rows["workspace.id"] == "#quick"
    assert rows["bot.name"] == "researcher" and rows["gen_ai.agent.name"] == "researcher"
    assert rows["gen_ai.operation.name"] == "invoke_agent"
    assert rows["bot.triggered_by"] == "planner"
    assert rows[CUSTOM_KEY] == CUSTOM_VALUE  # shown as text, not as markup
    assert seen["summary"] == f"Attributes ({len(rows)})"
    tool = dict(
        page.evaluate(
            f"""[...({_NODE})('execute_tool fetch_page')
                 .querySelectorAll(':scope > .node-body > details.attributes tr')]
                 .map((tr) => [...tr.cells].map((td) => td.textContent))"""
        )
    )
    assert tool["gen_ai.tool.name"] == "fetch_page" and tool["error.type"] == "ConnectionError"
    assert tool["bot.name"] == "researcher" and tool["workspace.id"] == "#quick"


@pytest.mark.needs_chromium
def test_span_tooltips_say_ok_or_error_never_unset(quick_page: Path, browser: Browser) -> None:
    """The hover text of each span bar ends in its real status (read from the DOM: innerText skips <title>)."""
    tips = browser.open(quick_page.as_uri()).evaluate(
        """[...document.querySelectorAll('svg g.span')].map((g) => [g.querySelector(':scope > title').textContent,
             g.classList.contains('error')])"""
    )
    assert len(tips) >= 8, tips
    statuses = {tip.split(" · ")[0]: tip.split(" · ")[2] for tip, _ in tips}
    assert set(statuses.values()) == {"OK", "ERROR"}, statuses
    assert all((tip.split(" · ")[2] == "ERROR") is marked for tip, marked in tips), tips
    assert statuses["execute_tool fetch_page"] == "ERROR"
    assert statuses["execute_tool search_docs"] == statuses["invoke_agent researcher"] == "OK"
    every_title = browser.open(quick_page.as_uri()).evaluate(
        "[...document.querySelectorAll('svg title')].map((t) => t.textContent).join('\\n')"
    )
    assert "UNSET" not in every_title
