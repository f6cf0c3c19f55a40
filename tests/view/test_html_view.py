"""The HTML waterfall, written by the CLI and opened in real headless Chromium."""

from __future__ import annotations

import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from otel_worklog._internal.query.records import SpanRecord
from otel_worklog._internal.render.html import render_html
from tests.cli.scenario import HOSTILE, SECOND_REASON, fill_store, run_cli
from tests.conftest import require_tool


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
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                *args,
            ],
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
