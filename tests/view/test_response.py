"""format_response and to_agent_artifact, read back from a store filled through the public API."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import otel_worklog as wl
from otel_worklog._internal.exceptions import TraceNotFound
from otel_worklog._internal.query.readers import StoreReader
from otel_worklog._internal.render.response import format_response, markdown_escape, to_agent_artifact
from tests.cli.scenario import SECOND_REASON, fill_store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("resp") / "w.db"
    return path, fill_store(path)


def test_markdown_block_is_collapsible_and_escaped(store: tuple[Path, dict[str, str]]) -> None:
    path, ids = store
    text = format_response("Here is the plan.", ids["project"], store=str(path), mode="detailed")
    assert text.startswith("Here is the plan.")
    assert "<details>" in text and "How I decided this" in text and text.rstrip().endswith("</details>")
    assert "<script>" not in text and "&lt;script&gt;" in text  # the hostile entry is inert
    assert "\\[red\\]" in text  # markdown link/markup characters escaped
    assert "Defaulting to 100 req/min rate limit (60%)" in text
    assert SECOND_REASON.replace("?", "?") in text


def test_summary_mode_lists_key_decisions(store: tuple[Path, dict[str, str]]) -> None:
    path, ids = store
    text = format_response("ok", ids["project"], store=str(path))
    assert "Key decisions" in text and "Found missing rate limiting" not in text
    assert "flaky\\_write" in text and "Escalations" in text


def test_html_form_escapes_everything(store: tuple[Path, dict[str, str]]) -> None:
    path, ids = store
    text = format_response("<b>answer</b>", ids["project"], store=str(path), fmt="html", mode="detailed")
    assert "<script" not in text and "<b>answer" not in text
    assert "<details>" in text and "&lt;script&gt;" in text


def test_no_work_log_gives_a_tip_not_an_error(tmp_path: Path) -> None:
    text = format_response("answer", store=str(tmp_path / "none.db"))
    assert text.startswith("answer") and "otel-worklog explain" in text


def test_current_trace_is_used_inside_a_workspace(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    wl.configure(service_name="resp", store=str(path))
    try:
        with wl.workspace("#live", query="q"):
            with wl.bot("nanobot"):
                wl.decision("Chose the cheap model", confidence=0.8)
            with wl.bot("nanobot"):
                text = format_response("done", store=str(path))
    finally:
        wl.shutdown()
    assert "Chose the cheap model" in text


def test_artifact(store: tuple[Path, dict[str, str]]) -> None:
    path, ids = store
    with StoreReader(path) as reader:
        art = to_agent_artifact(ids["project"], reader=reader)
        general = to_agent_artifact(ids["general"], reader=reader)
        with pytest.raises(TraceNotFound):
            to_agent_artifact("e" * 32, reader=reader)
    assert art["schema"] == "work-log-v1" and art["workspace"] == "#project-x"
    assert {t["tool"] for t in art["tools"]} == {"flaky_write"}
    failed = next(t for t in art["tools"] if t["status"] == "error")
    assert failed["input"] == {"path": "limiter.py", "attempt": 1} and "disk busy" in failed["error"]
    assert [d["message"] for d in art["decisions"]] == ["Defaulting to 100 req/min rate limit"]
    assert art["decisions"][0]["low_confidence"] is True
    assert art["summary"]["tool_calls"] == 2 and art["summary"]["tool_errors"] == 1
    assert art["summary"]["escalations"] == 1 and art["summary"]["total_duration_ms"] > 0
    assert art["next_actions"] == ["review_errors", "verify_low_confidence_decisions", "resolve_escalations"]
    assert general["tools"][0]["output"] == {"city": "Paris", "temp": 21, "next_actions": ["tell_user"]}
    assert general["next_actions"] == ["tell_user"]  # found in a tool output
    assert general["recommendations"] == general["next_actions"]


def test_markdown_escape() -> None:
    assert markdown_escape("[x](javascript:alert(1)) <img> *b*") == (
        "\\[x\\]\\(javascript:alert\\(1\\)\\) &lt;img&gt; \\*b\\*"
    )


# --- Called where the answer is built: inside the workspace, its bots still open ------------------------------------


@wl.tool
def price_check(item: str) -> dict[str, object]:
    return {"item": item, "price": 12}


@pytest.fixture
def configured(tmp_path: Path) -> Iterator[Path]:
    """otel_worklog configured with a store of its own, which format_response reads by default."""
    path = tmp_path / "live.db"
    wl.configure(service_name="resp", store=str(path))
    yield path
    wl.shutdown()


def _duration(text: str) -> str:
    match = re.search(r"\*\*Duration:\*\* ([^·]+) ·", text)
    assert match, text
    return match.group(1).strip()


@pytest.mark.usefixtures("configured")
def test_inside_the_bot_block_shows_the_work_so_far() -> None:
    with wl.workspace("#inside", type="project", query="Which cache?"):
        with wl.bot("planner"):
            wl.decision("Use Redis for the cache", confidence=0.9)
            price_check("redis")
            wl.decision("Start with 64 MB", confidence=0.6)
            text = wl.format_response("Redis, 64 MB", mode="detailed")
    assert "Tip:" not in text
    assert "**Query:** Which cache?" in text and "**Bots:** planner" in text
    assert "Use Redis for the cache (90%)" in text and "Start with 64 MB (60%)" in text
    assert "price\\_check (✓" in text  # the finished tool call, from the store
    assert _duration(text) not in ("0.0s", "0 ns")


@pytest.mark.usefixtures("configured")
def test_after_the_bot_block_still_in_the_workspace() -> None:
    with wl.workspace("#after", type="project", query="Which cache?"):
        with wl.bot("planner"):
            wl.decision("Use Redis for the cache", confidence=0.9)
        with wl.bot("reviewer"):
            wl.correction("Memcached is enough here")
        text = wl.format_response("Memcached")
    assert "**Query:** Which cache?" in text and "**Workspace:** #after (project)" in text
    assert "**Bots:** planner, reviewer" in text
    assert "Use Redis for the cache" in text and "Memcached is enough here" in text
    assert _duration(text) not in ("0.0s", "0 ns")


@pytest.mark.usefixtures("configured")
def test_parallel_bots_each_show_their_decisions() -> None:
    """Three bots in threads, all still working when one of them builds the answer."""
    all_decided = threading.Barrier(3)
    answered = threading.Event()

    def work(name: str) -> str | None:
        with wl.bot(name):
            wl.decision(f"{name} picked its part", confidence=0.8)
            all_decided.wait(timeout=30)
            if name != "writer":
                answered.wait(timeout=30)
                return None
            text = wl.format_response("done")
            answered.set()
            return text

    with wl.workspace("#parallel", type="coordination"):
        with wl.ThreadPoolExecutor(max_workers=3) as pool:
            results = list(pool.map(work, ["researcher", "designer", "writer"]))
    (text,) = [r for r in results if r is not None]
    assert "Key decisions" in text
    for name in ("researcher", "designer", "writer"):
        assert f"{name} picked its part" in text, text
    steps = [int(step) for step in re.findall(r"Step (\d+):", text)]
    assert sorted(steps) == [1, 2, 3]


@pytest.mark.usefixtures("configured")
def test_a_long_open_bot_shows_every_entry() -> None:
    """Entries past the span event limit go to an open continuation span: the answer still lists them all."""
    with wl.workspace("#long", type="project"), wl.bot("worker"):
        for i in range(200):
            wl.info(f"item {i} done")
        text = wl.format_response("all done", mode="detailed")
    assert "**Steps:** 200" in text
    assert "item 0 done" in text and "item 199 done" in text
