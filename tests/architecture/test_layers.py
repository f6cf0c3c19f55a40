"""The package is laid out as its data flow, and the imports prove it.

Each folder of ``otel_worklog/_internal`` is one stage (record, store, pipeline, query, render,
cli, integrations) and imports only from itself, from earlier stages and from the shared leaves.
No module imports the public package root from inside, except the CLI's demo and doctor, which use
the public API the way an app does.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from tests.architecture.imports import INTERNAL, LEAVES, ROOT, STAGES, edges, module_name, modules, stage_of

#: Modules that may use the public API as an app does (they are programs, not library code).
_APPS = (f"{INTERNAL}.cli.demo", f"{INTERNAL}.cli.demo_worker", f"{INTERNAL}.cli.doctor")


def _rank(stage: str) -> int:
    return -1 if stage in LEAVES else STAGES.index(stage)


def test_every_internal_module_sits_in_a_known_stage_or_leaf() -> None:
    unknown = sorted({m for m in modules() if (s := stage_of(m)) is not None and s not in STAGES + LEAVES})
    assert unknown == []


def test_no_stage_imports_a_later_stage() -> None:
    back_edges = []
    for edge in edges():
        source, target = stage_of(edge.source), stage_of(edge.target)
        if source is None or target is None or source == target:
            continue
        if source in LEAVES and target not in LEAVES:
            back_edges.append(f"leaf {edge.source} imports {edge.target} (line {edge.line})")
        elif _rank(target) > _rank(source):
            back_edges.append(f"{edge.source} imports the later stage {edge.target} (line {edge.line})")
    assert back_edges == []


def test_internal_modules_do_not_import_the_package_root() -> None:
    found = [
        f"{e.source} (line {e.line})"
        for e in edges()
        if stage_of(e.source) is not None and e.target == "otel_worklog" and e.source not in _APPS
    ]
    assert found == []


def test_the_import_graph_has_no_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for edge in edges():
        if edge.target != edge.source and edge.target in modules():
            graph.setdefault(edge.source, set()).add(edge.target)
    # A package's __init__ importing its own submodules is re-exporting, not a cycle.
    for source, targets in graph.items():
        graph[source] = {t for t in targets if not t.startswith(source + ".")}
    seen: set[str] = set()
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        seen.add(node)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in on_stack:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in seen:
                visit(nxt)
        stack.pop()
        on_stack.discard(node)

    for node in sorted(graph):
        if node not in seen:
            visit(node)
    assert cycles == []


def test_record_imports_only_the_api_and_wrapt() -> None:
    """What user code calls on the hot path never needs the SDK, so a library can depend on it alone."""
    allowed = ("opentelemetry", "wrapt")
    found = []
    for module, path in modules().items():
        if stage_of(module) != "record":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            for name in names:
                top = name.split(".")[0]
                if name.startswith("opentelemetry.sdk") or (
                    top not in allowed and top != "otel_worklog" and top not in sys.stdlib_module_names
                ):
                    found.append(f"{module}: {name}")
    assert found == []


def test_recording_without_configure_loads_no_sdk() -> None:
    code = (
        "import sys\n"
        "import otel_worklog as wl\n"
        "assert wl.decision('x') == 0\n"
        "with wl.workspace('#w'), wl.bot('b'):\n"
        "    wl.info('y')\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry.sdk')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_configure_without_a_backend_loads_no_http_client(tmp_path: Path) -> None:
    """What keeps configure() quick for an app that records to the store: the modules an OTLP endpoint or a
    mistyped setting would need (urllib.request alone takes longer to import than the rest) stay unloaded."""
    code = (
        "import sys\n"
        "import otel_worklog as wl\n"
        "wl.configure(store=sys.argv[1])\n"
        "wl.decision('x')\n"
        "wl.shutdown()\n"
        "print(sorted(m for m in ('urllib.request', 'http.client', 'difflib', 'ssl') if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "HTTP_", "HTTPS_", "ALL_PROXY"))}
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "w.db")],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert result.stdout.strip() == "[]"


def test_module_names_follow_their_files() -> None:
    assert module_name(ROOT / "_internal" / "record" / "__init__.py") == f"{INTERNAL}.record"
