"""Readers for the stack's config files, shared by the tests in this package.

They undo the layers a value goes through before the collector uses it: YAML, then the
collector's own expansion (``${env:NAME:-default}`` and ``$$`` for a literal ``$``), then
OTTL string literals (Go-style backslash escapes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from otel_worklog._internal import semconv as sc

ROOT = Path(__file__).resolve().parents[2]
COLLECTOR_CONFIG = ROOT / "collector" / "config.yaml"
LOADBALANCING_CONFIG = ROOT / "collector" / "loadbalancing.yaml"
COMPOSE = ROOT / "docker-compose.yml"
TEMPO = ROOT / "grafana" / "tempo.yaml"
PROMETHEUS = ROOT / "grafana" / "prometheus" / "prometheus.yml"
RULES = ROOT / "grafana" / "prometheus" / "rules" / "worklog.rules.yml"
RULES_TEST = Path(__file__).resolve().parent / "worklog.rules.test.yml"
DATASOURCES = ROOT / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
DASHBOARD_PROVIDERS = ROOT / "grafana" / "provisioning" / "dashboards" / "dashboards.yaml"
GRAFANA_ALERTS = ROOT / "grafana" / "provisioning" / "alerting" / "worklog-alerts.yaml"
DASHBOARD = ROOT / "grafana" / "dashboards" / "worklog.json"

#: Every trace exporter the collector config may run, as documented in its header comment.
ALL_TRACE_EXPORTERS_ENV = {"WORKLOG_TRACE_EXPORTERS": "[otlp_grpc/tempo, otlp_grpc/jaeger, otlp_http/upstream]"}

_EXPANSION = re.compile(r"\$\$|\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
#: Compose's own interpolation: ``${NAME}`` and ``${NAME:-default}`` (no ``env:`` prefix).
_COMPOSE_EXPANSION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_dashboard() -> dict[str, Any]:
    with DASHBOARD.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def semconv_attributes() -> set[str]:
    """Every attribute / event name semconv defines (the str constants with a dot, no template)."""
    names = set()
    for key, value in vars(sc).items():
        if key.isupper() and isinstance(value, str) and "." in value and "{" not in value:
            names.add(value.removesuffix("."))
    return names


def semconv_labels() -> set[str]:
    """The Prometheus labels those attributes become."""
    return {sc.prometheus_label(name) for name in semconv_attributes()}


def expand(node: Any, env: Mapping[str, str] | None = None) -> Any:
    """Apply the collector's expansion to a loaded config, with ``env`` as the environment.

    A reference that fills a whole value is parsed as YAML (so a list arrives as a list),
    as the collector's env provider does; ``$$`` becomes ``$``.
    """
    env = env or {}
    if isinstance(node, dict):
        return {key: expand(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [expand(value, env) for value in node]
    if not isinstance(node, str):
        return node
    whole = _EXPANSION.fullmatch(node)
    if whole and whole.group(0) != "$$":
        name, default = whole.group(1), whole.group(2)
        raw = env.get(name) or (default if default is not None else "")
        return yaml.safe_load(raw)

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1)) or (match.group(2) or "")

    return _EXPANSION.sub(one, node)


def env_references(node: Any) -> Iterator[str]:
    """Names of the environment variables a config refers to."""
    if isinstance(node, dict):
        for value in node.values():
            yield from env_references(value)
    elif isinstance(node, list):
        for value in node:
            yield from env_references(value)
    elif isinstance(node, str):
        for match in _EXPANSION.finditer(node):
            if match.group(1):
                yield match.group(1)


_GO_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r", "'": "'"}


def ottl_strings(statement: str) -> list[str]:
    """The string literals of an OTTL statement, unescaped as OTTL does (Go strconv.Unquote)."""
    out: list[str] = []
    i = 0
    while i < len(statement):
        if statement[i] != '"':
            i += 1
            continue
        i += 1
        chars: list[str] = []
        while statement[i] != '"':
            if statement[i] == "\\":
                escaped = statement[i + 1]
                if escaped not in _GO_ESCAPES:
                    raise ValueError(f"invalid escape \\{escaped} in OTTL string of {statement!r}")
                chars.append(_GO_ESCAPES[escaped])
                i += 2
            else:
                chars.append(statement[i])
                i += 1
        out.append("".join(chars))
        i += 1
    return out


def compose(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """docker-compose.yml as Compose reads it with ``env`` as the shell environment."""
    environment = env or {}

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return environment.get(match.group(1)) or (match.group(2) or "")

    def interpolate(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: interpolate(value) for key, value in node.items()}
        if isinstance(node, list):
            return [interpolate(value) for value in node]
        return _COMPOSE_EXPANSION.sub(one, node) if isinstance(node, str) else node

    data: dict[str, Any] = interpolate(load_yaml(COMPOSE))
    return data


def collector(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    config: dict[str, Any] = expand(load_yaml(COLLECTOR_CONFIG), env)
    return config


def pipeline_components(config: Mapping[str, Any]) -> dict[str, set[str]]:
    """kind -> names used in the service's pipelines (connectors appear as exporter and receiver)."""
    used: dict[str, set[str]] = {"receivers": set(), "processors": set(), "exporters": set()}
    for pipeline in config["service"]["pipelines"].values():
        for kind, names in used.items():
            names.update(pipeline.get(kind) or [])
    return used


def promql_label_names(expr: str) -> set[str]:
    """Label names a PromQL expression refers to: matchers, by/without lists, label_join/replace."""
    names = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)\s*\"", expr))
    for group in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr):
        names.update(part.strip() for part in group.split(",") if part.strip())
    for args in re.findall(r"label_(?:join|replace)\(.*?,((?:\s*\"[^\"]*\"\s*,?)+)\)", expr, flags=re.S):
        names.update(re.findall(r"\"([A-Za-z_][A-Za-z0-9_]*)\"", args))
    return names


def traceql_attributes(query: str) -> set[str]:
    """Attribute names a TraceQL query refers to as ``span.<name>`` / ``resource.<name>``."""
    return set(re.findall(r"\b(?:span|resource)\.([A-Za-z_][A-Za-z0-9_.]*[A-Za-z0-9_])", query))
