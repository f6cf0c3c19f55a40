"""``otel-worklog demo``: four example workspaces (A-D) played through the public API.

A  #general: an open workspace and a simple query.
B  #project-refactor: the coordinator delegates, a researcher (in a second process, reached through a
   handoff carrier) finds issues, a low-confidence decision, a tool fails then succeeds, an escalation.
C  dm-researcher: a direct research session ending in a shareable insight.
D  #coordination-website: overnight coordination, parallel bots, a conflict that escalates.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import otel_worklog as wl
from otel_worklog._internal.cli.common import emit_json
from otel_worklog._internal.cli.options import Command, add_json, add_source
from otel_worklog._internal.exceptions import ReaderError
from otel_worklog._internal.query.readers import StoreReader
from otel_worklog._internal.render.console import make_console
from otel_worklog._internal.render.units import plural
from otel_worklog._internal.store import resolve_store_path

__all__ = ["COMMAND", "run_demo", "run_scenarios"]

SERVICE_NAME = "otel-worklog-demo"
_PAUSE = 0.01


# -- tools (decorated, as a user would write them) -------------------------------
@wl.tool
def weather_lookup(location: str) -> dict[str, Any]:
    time.sleep(0.045)
    return {"location": location, "temp_f": 72, "condition": "sunny"}


class _FlakyDisk:
    """Fails the first write, as a busy network disk would, then works."""

    def __init__(self) -> None:
        self.calls = 0


_DISK = _FlakyDisk()


@wl.tool
def write_file(path: str, content: str) -> dict[str, Any]:
    _DISK.calls += 1
    time.sleep(0.02)
    if _DISK.calls == 1:
        raise TimeoutError(f"write to {path} timed out after 20 ms")
    return {"path": path, "bytes": len(content), "status": "written"}


@wl.tool
def web_search(query: str) -> dict[str, Any]:
    time.sleep(0.025)
    return {"query": query, "results": 3, "top": f"Survey: {query}"}


@wl.tool(name="analyze_competitors")
def analyze_competitors(urls: list[str]) -> dict[str, Any]:
    time.sleep(0.03)
    return {"sites": len(urls), "framework": "React", "avg_load_s": 2.3, "next_actions": ["benchmark_homepage"]}


@wl.agent(name="creative", role="designer")
def draft_designs(carrier: dict[str, str]) -> list[str]:
    wl.thinking("Sketching two homepage directions", category="design")
    time.sleep(0.02)
    return ["minimalist", "visual"]


# -- the four workspaces ----------------------------------------------------------
def example_a() -> str:
    with wl.workspace(
        "#general",
        type="open",
        participants=["nanobot", "researcher", "coder", "social"],
        query="What's the weather like?",
    ) as ws:
        with wl.bot("nanobot", role="coordinator", triggered_by="user"):
            wl.info("Simple query - classified as TIER_SIMPLE", category="routing", confidence=0.95)
            wl.decision("Calling weather API", category="tool", confidence=0.93)
            weather_lookup("auto-detect")
            wl.info("Response delivered to user: It's 72°F and sunny!")
        return ws.trace_id


def example_b(store: Path) -> str:
    with wl.workspace(
        "#project-refactor",
        type="project",
        participants=["nanobot", "researcher", "coder"],
        coordinator="nanobot",
        query="Refactor the authentication module",
        estimated_duration_s=600,
    ) as ws:
        with wl.bot("nanobot", role="coordinator", triggered_by="user"):
            wl.thinking("Assessing task complexity and required expertise", category="coordination")
            ask = wl.message(
                "@researcher Please analyze current auth implementation for security issues",
                mentions=["@researcher"],
            )
            to_researcher = wl.handoff("researcher", artifacts=["src/auth/"], reason="security review")
            findings = _run_worker(to_researcher.carrier, store, ask)
            time.sleep(_PAUSE)
            wl.message(
                "@coder Can you implement rate limiting? @researcher found it as priority #1",
                mentions=["@coder", "@researcher"],
                response_to=findings.get("reply_step"),
            )
            to_coder = wl.handoff("coder", artifacts=["security-review.md"], reason="implement rate limiting")
        with wl.bot("coder", role="backend developer", handoff=to_coder):
            question = wl.message("What rate limit should I use? 100 req/min or stricter?", mentions=["@nanobot"])
        with wl.bot("nanobot", role="coordinator"):
            wl.decision(
                "Rate limit choice unclear - defaulting to 100/min but user might prefer different",
                category="coordination",
                confidence=0.6,
            )
            wl.message("Use 100 req/min for now; I'll flag it for the user.", response_to=question)
            wl.decision("Proceeding with 100 req/min, flagging for user confirmation", confidence=0.75)
        with wl.bot("coder", role="backend developer"):
            wl.decision("Implementing rate limiting middleware for the login API", category="tool", confidence=0.88)
            try:
                write_file("src/auth/rate_limiter.py", "RATE = '100/min'\n")
            except TimeoutError:
                wl.correction("Write timed out; retrying once", category="tool")
                write_file("src/auth/rate_limiter.py", "RATE = '100/min'\n")
            wl.info("Rate limiting middleware written", category="tool")
        with wl.bot("nanobot", role="coordinator"):
            wl.escalate(
                "Password policy choice: Require special characters (strict) or allow passphrases (user-friendly)?",
                details={"options": "strict|passphrase", "blocking": "weak password fix"},
            )
        return ws.trace_id


def example_c() -> str:
    with wl.workspace(
        "dm-researcher",
        type="direct",
        participants=["nanobot", "researcher"],
        query="Research quantum computing applications in cryptography",
    ) as ws:
        with wl.bot("researcher", role="specialist", triggered_by="user"):
            wl.info("Loading researcher expertise context", category="context")
            wl.thinking("Beginning literature review on post-quantum cryptography", category="research")
            for query in ("quantum computing cryptography", "post-quantum algorithms", "NIST standards"):
                wl.decision(f"Searching: {query}", category="tool", confidence=0.9)
                web_search(query)
            wl.decision(
                "Key finding: Shor's algorithm threatens RSA/ECC, lattice-based crypto is leading PQC candidate",
                category="research",
                confidence=0.92,
            )
            wl.insight(
                "User likes academic citations in research answers",
                category="research_finding",
                confidence=0.92,
                scope="bot_specific",
                applies_to=["researcher"],
            )
        return ws.trace_id


def example_d() -> str:
    with wl.workspace(
        "#coordination-website",
        type="coordination",
        participants=["nanobot", "researcher", "coder", "creative"],
        coordinator="nanobot",
        query="Build company website",
    ) as ws:
        with wl.bot("nanobot", role="coordinator", triggered_by="nanobot"):
            wl.log(
                "coordination",
                "Coordinator mode activated - user offline, managing autonomously",
                category="coordination",
            )
            kickoff = wl.message(
                "@researcher Analyze 3 competitor websites. @creative Draft homepage designs. @coder Setup repo. "
                "Work in parallel.",
                mentions=["@researcher", "@creative", "@coder"],
            )
            handoffs = {
                name: wl.handoff(name, reason="parallel kickoff") for name in ("researcher", "creative", "coder")
            }

            def researcher() -> None:
                with wl.bot("researcher", handoff=handoffs["researcher"]):
                    analyze_competitors(["a.example", "b.example", "c.example"])
                    wl.message(
                        "Competitor analysis complete. Key finding: All use React, average load time 2.3s",
                        response_to=kickoff,
                    )

            def creative() -> None:
                with wl.bot("creative", handoff=handoffs["creative"]):
                    draft_designs(handoffs["creative"].carrier)
                    wl.message(
                        "Drafted 2 designs. Minimalist version: strong performance. Visual version: rich media. "
                        "Need user choice.",
                        response_to=kickoff,
                    )

            def coder() -> None:
                with wl.bot("coder", role="backend developer", handoff=handoffs["coder"]):
                    time.sleep(0.015)
                    wl.message("Repo and API skeleton set up. Ready for implementation.", response_to=kickoff)

            with wl.ThreadPoolExecutor(max_workers=3) as pool:
                for future in [pool.submit(fn) for fn in (researcher, creative, coder)]:
                    future.result()
            wl.log(
                "coordination",
                "Parallel tasks complete. Blocking issues: Design choice (minimalist vs visual).",
                category="coordination",
            )
            wl.decision(
                "Choosing minimalist design - better performance aligns with competitor analysis findings",
                category="coordination",
                confidence=0.85,
            )
            proceed = wl.message(
                "@coder Proceed with minimalist design. @creative Provide specs to coder.",
                mentions=["@coder", "@creative"],
            )
        with wl.bot("creative", role="designer"):
            wl.message(
                "Respectfully disagree - visual design better for brand. Suggest A/B testing both?",
                mentions=["@nanobot"],
                response_to=proceed,
            )
        with wl.bot("nanobot", role="coordinator"):
            wl.escalate(
                "Design conflict: Coder wants minimalist (performance), Creative wants visual (brand). "
                "Both valid. Need user decision.",
                details={"options": "minimalist|visual|ab_test"},
            )
        return ws.trace_id


def _run_worker(carrier: dict[str, str], store: Path, answers_step: int) -> dict[str, Any]:
    """Hand the researcher's work to a real second Python process, carrier as JSON on stdin."""
    package_root = str(Path(wl.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    payload = json.dumps({"carrier": carrier, "store": str(store), "answers_step": answers_step})
    done = subprocess.run(
        [sys.executable, "-m", "otel_worklog._internal.cli.demo_worker"],
        input=payload,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ReaderError(f"the demo's researcher process failed: {last}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_scenarios(store: Path) -> list[tuple[str, str]]:
    """Run A-D into ``store`` (configure/shutdown included); returns (workspace, trace id) pairs."""
    wl.configure(service_name=SERVICE_NAME, store=str(store))
    try:
        found = [
            ("#general", example_a()),
            ("#project-refactor", example_b(store)),
            ("dm-researcher", example_c()),
            ("#coordination-website", example_d()),
        ]
    finally:
        wl.shutdown()
    return found


def _options(parser: argparse.ArgumentParser) -> None:
    add_source(parser, tempo=False)
    add_json(parser)


def run_demo(*, store: str | None = None, as_json: bool = False) -> None:
    """Play the four example workspaces into the store, then say what to run next."""
    path = resolve_store_path(store if store else ...)
    if path is None:
        raise ReaderError("the embedded store is switched off (OTEL_WORKLOG_STORE=none); pass --store PATH")
    sessions = run_scenarios(path)
    with StoreReader(path) as reader:
        spans = sum(len(reader.trace(trace_id)) for _, trace_id in sessions)
    flag = f" --store {shlex.quote(str(path))}" if store else ""
    steps = [
        ("otel-worklog logs" + flag, "the four sessions"),
        ("otel-worklog explain" + flag, "the latest one as a timeline"),
        (f"otel-worklog explain -w '#project-refactor' --mode coordination{flag}", "the coordinator's decisions"),
        (f"otel-worklog explain -w '#coordination-website' --mode conversations{flag}", "bot threads"),
        (f'otel-worklog how "rate limit"{flag}', "search every session"),
        ("otel-worklog escalations" + flag, "what needs a human"),
        (f"otel-worklog view -w '#project-refactor' --html worklog.html{flag}", "a waterfall to open in a browser"),
        (f"otel-worklog export -w '#general' -o general.otlp.json{flag}", "OTLP JSON for another backend"),
    ]
    if as_json:
        emit_json(
            {
                "store": str(path),
                "spans": spans,
                "sessions": [{"workspace": w, "trace_id": t} for w, t in sessions],
                "next": [cmd for cmd, _ in steps],
            }
        )
        return
    console = make_console()
    console.print(
        f"[green]✓[/green] Recorded {plural(len(sessions), 'workspace session')} ({plural(spans, 'span')}) in {path}"
    )
    for workspace, trace_id in sessions:
        console.print(f"  {workspace:<24} {trace_id}", markup=False)
    console.print("\n[bold]What to run next:[/bold]")
    width = max(len(cmd) for cmd, _ in steps)
    for cmd, why in steps:
        console.print(f"  {cmd:<{width}}   # {why}", markup=False)


COMMAND = Command(
    "Play four example workspaces (A-D) into the store; one handoff crosses a process.", run_demo, _options
)
