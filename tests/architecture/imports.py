"""The package's import graph, read from the source (every import, also those inside functions)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "otel_worklog"
ROOT = Path(__file__).resolve().parents[2] / PACKAGE
INTERNAL = f"{PACKAGE}._internal"

#: The stages of the data flow, in order: a module may import only from its own stage, an earlier
#: one, or a shared leaf. The store comes before the pipeline: configure() builds the store's
#: exporter and the insight processor keeps its ledger there, while the store knows no processor.
STAGES = ("record", "store", "pipeline", "query", "render", "cli", "integrations")
#: Leaves any stage may import; they import only each other.
LEAVES = (
    "version",
    "semconv",
    "settings",
    "exceptions",
    "span_kinds",
    "status",
    "text",
    "faults",
    "sdk_compat",
    "forks",
)


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    drop = node.level - (1 if is_package else 0)
    base = base[: len(base) - drop] if drop else base
    return ".".join([*base, node.module] if node.module else base)


def edges() -> Iterator[Edge]:
    """Every import of one of our own modules, as (importer, imported module)."""
    known = modules()
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith(PACKAGE):
                        yield Edge(module, alias.name, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(module, node, is_package)
                if not target.startswith(PACKAGE):
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    yield Edge(module, sub if sub in known else target, node.lineno)


def stage_of(module: str) -> str | None:
    """The stage (or leaf) a module of ``_internal`` belongs to; None for the public modules."""
    if not module.startswith(INTERNAL + "."):
        return None
    return module[len(INTERNAL) + 1 :].split(".", maxsplit=1)[0]
