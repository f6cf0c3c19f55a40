"""The alert path on a real Prometheus server (Debian's ``prometheus``), not only promtool.

Prometheus scrapes a local endpoint serving the span-metric series the collector would export
(span_metrics_endpoint.py: the one fake here, because the collector cannot run on this machine)
with the production scrape job, and evaluates the project's rules. The tests ask its HTTP API.

The rules are a TEST COPY of grafana/prometheus/rules/worklog.rules.yml with two durations
shortened, so that the test takes seconds: the group interval (15s -> 1s) and the escalation
alert's ``for:`` (0s -> 3s, so that it is observably pending before it fires). Every expression,
label and annotation is the production one; the production file itself, with its own durations,
is what promtool tests (test_promtool.py) and what the doctor test runs (test_doctor_prometheus.py).
"""

from __future__ import annotations

import re
import secrets
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from otel_worklog._internal import semconv as sc
from tests.conftest import require_tool

from . import stackfiles as sf
from .prometheus_server import PrometheusServer, server_config
from .span_metrics_endpoint import CALLS, EVENTS, SpanMetricsEndpoint

ESCALATION = "WorklogEscalation"
TEST_FOR = "3s"
#: Grafana's variables in the dashboard's PromQL, as Grafana would fill them in.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "10m"}


def fast_rules(path: Path) -> Path:
    """The production rules with the group interval and the escalation alert's ``for:`` shortened."""
    rules = sf.load_yaml(sf.RULES)
    for group in rules["groups"]:
        assert group["interval"] == "15s"
        group["interval"] = "1s"
        for rule in group["rules"]:
            if rule.get("alert") == ESCALATION:
                assert rule["for"] == "0s"
                rule["for"] = TEST_FOR
    path.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SpanMetricsEndpoint, PrometheusServer]]:
    binary = require_tool("prometheus")
    workdir = tmp_path_factory.mktemp("prometheus")
    rules = fast_rules(workdir / "worklog.rules.yml")
    with SpanMetricsEndpoint() as endpoint:
        config = server_config(rule_files=[rules], target=endpoint.target)
        with PrometheusServer(binary, config, workdir) as server:
            yield endpoint, server


def _base(workspace: str, bot: str, instance: str = "8c1f20aa-0001") -> dict[str, str]:
    """Labels every series of the span_metrics connector has, for one bot in one workspace."""
    return {
        "service_name": "agents",
        "span_kind": "SPAN_KIND_INTERNAL",
        "status_code": "STATUS_CODE_UNSET",
        "collector_instance_id": instance,
        sc.prometheus_label(sc.WORKSPACE_ID): workspace,
        sc.prometheus_label(sc.BOT_NAME): bot,
    }


def _invoke(workspace: str, bot: str, instance: str = "8c1f20aa-0001") -> dict[str, str]:
    return {
        **_base(workspace, bot, instance),
        "span_name": f"invoke_agent {bot}",
        sc.prometheus_label(sc.GEN_AI_OPERATION_NAME): sc.OPERATION_INVOKE_AGENT,
    }


def _escalation(workspace: str, bot: str, instance: str = "8c1f20aa-0001") -> dict[str, str]:
    return {
        **_base(workspace, bot, instance),
        "span_name": sc.ESCALATION_SPAN_NAME,
        sc.prometheus_label(sc.WORKLOG_ESCALATION): "true",
    }


def _handoff(workspace: str, source: str, target: str, instance: str = "8c1f20aa-0001") -> dict[str, str]:
    return {
        **_base(workspace, source, instance),
        "span_name": f"handoff {source} -> {target}",
        sc.prometheus_label(sc.WORKLOG_HANDOFF_FROM): source,
        sc.prometheus_label(sc.WORKLOG_HANDOFF_TO): target,
    }


def _workspace_alerts(server: PrometheusServer, workspace: str) -> list[dict[str, Any]]:
    label = sc.prometheus_label(sc.WORKSPACE_ID)
    return [a for a in server.alerts(ESCALATION) if a["labels"].get(label) == workspace]


def test_escalation_alert_goes_pending_then_firing(stack: tuple[SpanMetricsEndpoint, PrometheusServer]) -> None:
    endpoint, server = stack
    workspace = f"#alerts-{secrets.token_hex(3)}"
    label = sc.prometheus_label(sc.WORKSPACE_ID)

    # A busy workspace without an escalation: scraped, evaluated, and no alert.
    endpoint.set(CALLS, _invoke(workspace, "researcher"), 4)
    server.wait_for(
        "the recording rule over the ordinary series",
        lambda: server.query(f'worklog:span_calls:increase10m{{{label}="{workspace}"}}') or None,
    )
    rules = server.rules()
    production = {r.get("alert") or r.get("record") for g in sf.load_yaml(sf.RULES)["groups"] for r in g["rules"]}
    assert set(rules) == production
    assert {name: rule["health"] for name, rule in rules.items()} == dict.fromkeys(production, "ok")
    assert _workspace_alerts(server, workspace) == []

    # The first escalation of the workspace: a NEW series that starts at 1 (the increase() pitfall).
    escalated_at = time.time()
    endpoint.set(CALLS, _escalation(workspace, "researcher"), 1)
    firing = server.wait_for(
        "the alert to fire",
        lambda: next((a for a in _workspace_alerts(server, workspace) if a["state"] == "firing"), None),
    )

    # Pending first, then firing: the ALERTS series Prometheus writes at each evaluation says when.
    history = server.api("query", query=f'ALERTS{{alertname="{ESCALATION}", {label}="{workspace}"}}[5m]')
    samples = {series["metric"]["alertstate"]: [float(t) for t, _ in series["values"]] for series in history["result"]}
    assert set(samples) == {"pending", "firing"}, history
    assert max(samples["pending"]) < min(samples["firing"])
    assert min(samples["pending"]) >= escalated_at - 1
    assert min(samples["firing"]) - min(samples["pending"]) >= float(TEST_FOR.rstrip("s")) - 0.5

    # What a human gets: one alert per workspace and bot, the collector instance summed away.
    assert firing["labels"] == {
        "alertname": ESCALATION,
        "severity": "page",
        "category": "escalation",
        "service_name": "agents",
        label: workspace,
        sc.prometheus_label(sc.BOT_NAME): "researcher",
    }
    quoted = urllib.parse.quote_plus(workspace)
    assert firing["annotations"] == {
        "summary": f"Escalation in workspace {workspace} by researcher",
        "description": f"1 escalation(s) in the last 10 minutes in workspace {workspace} "
        "(bot researcher, service agents).",
        "traces": f"http://localhost:3000/d/worklog-overview/work-logs?var-workspace={quoted}",
    }
    assert float(firing["value"]) == 1


def _seed_every_panel(endpoint: SpanMetricsEndpoint, workspace: str) -> None:
    """Series from TWO collector instances (a restart, or two samplers) that every query has rows for."""
    for instance, scale in (("8c1f20aa-0001", 1), ("d93e4b17-0002", 2)):
        for bot in ("planner", "coder"):
            endpoint.set(CALLS, _invoke(workspace, bot, instance), 3 * scale)
        endpoint.set(CALLS, _escalation(workspace, "planner", instance), scale)
        tool = {
            **_base(workspace, "coder", instance),
            "span_name": "execute_tool search",
            sc.prometheus_label(sc.GEN_AI_OPERATION_NAME): sc.OPERATION_EXECUTE_TOOL,
            sc.prometheus_label(sc.GEN_AI_TOOL_NAME): "search",
        }
        endpoint.set(CALLS, tool, 5 * scale)
        endpoint.set(CALLS, {**tool, "status_code": "STATUS_CODE_ERROR"}, 3 * scale)
        for bucket, count in (("100", 2), ("1000", 7), ("+Inf", 8)):
            endpoint.set("traces_span_metrics_duration_milliseconds_bucket", {**tool, "le": bucket}, count * scale)
        endpoint.set(CALLS, _handoff(workspace, "planner", "coder", instance), 2 * scale)
        event = {**_invoke(workspace, "planner", instance), sc.prometheus_label(sc.WORKLOG_LEVEL): "uncertainty"}
        endpoint.set(EVENTS, event, 4 * scale)
        endpoint.set(EVENTS, {**event, sc.prometheus_label(sc.WORKLOG_FLAGGED_FROM): "decision"}, 3 * scale)


def _promql_by_place(workspace: str) -> dict[str, str]:
    """Every PromQL expression a human sees the result of, with Grafana's variables filled in."""
    out: dict[str, str] = {}
    for panel in sf.load_dashboard()["panels"]:
        for target in panel["targets"]:
            if target["datasource"]["type"] == "prometheus":
                expr = target["expr"].replace("$workspace", workspace)
                for variable, value in GRAFANA_VARIABLES.items():
                    expr = expr.replace(variable, value)
                out[f"dashboard panel {panel['id']} {target['refId']}"] = expr
    for group in sf.load_yaml(sf.GRAFANA_ALERTS)["groups"]:
        for rule in group["rules"]:
            for query in rule["data"]:
                if "expr" in query["model"]:
                    out[f"grafana alert {rule['uid']}"] = query["model"]["expr"]
    for group in sf.load_yaml(sf.RULES)["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                out[f"prometheus alert {rule['alert']}"] = rule["expr"]
    assert not [e for e in out.values() if "$" in e], "a Grafana variable was left unfilled"
    return out


@pytest.fixture
def seeded(stack: tuple[SpanMetricsEndpoint, PrometheusServer]) -> tuple[SpanMetricsEndpoint, PrometheusServer, str]:
    """A fresh workspace with series for every panel, from two collector instances."""
    endpoint, server = stack
    workspace = f"#seeded-{secrets.token_hex(3)}"
    _seed_every_panel(endpoint, workspace)
    return endpoint, server, workspace


def test_every_panel_and_alert_sums_the_collector_instance_away(
    seeded: tuple[SpanMetricsEndpoint, PrometheusServer, str],
) -> None:
    """collector_instance_id is on every series; no panel or alert may show one row per instance."""
    _endpoint, server, workspace = seeded
    label = sc.prometheus_label(sc.WORKSPACE_ID)
    queries = _promql_by_place(workspace)

    def ours(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # Panel 1 and the alerts span every workspace; the other tests' workspaces are not ours.
        return [row for row in rows if row["metric"].get(label, workspace) == workspace]

    def all_answered() -> dict[str, list[dict[str, Any]]] | None:
        results = {place: ours(server.query(expr)) for place, expr in queries.items()}
        return results if all(results.values()) else None

    results = server.wait_for("a row from every query", all_answered)
    for place, rows in results.items():
        for row in rows:
            assert "collector_instance_id" not in row["metric"], place
        groups = [tuple(sorted(row["metric"].items())) for row in rows]
        assert len(groups) == len(set(groups)), place
    # The two instances' counts add up: 1 + 2 escalations by planner.
    (escalations,) = results["prometheus alert WorklogEscalation"]
    assert float(escalations["value"][1]) == 3


def test_handoff_node_graph_is_edges_only_and_names_its_nodes(
    seeded: tuple[SpanMetricsEndpoint, PrometheusServer, str],
) -> None:
    """The node graph gets one edges frame (Grafana builds the nodes from it), with the fields it needs."""
    endpoint, server, workspace = seeded
    # A handoff to a bot that never ran in the range: a separate nodes query would not list it.
    endpoint.set(CALLS, _handoff(workspace, "coder", "reviewer"), 1)
    panel = next(p for p in sf.load_dashboard()["panels"] if p["type"] == "nodeGraph")
    (target,) = panel["targets"]
    (organize,) = panel["transformations"]
    assert organize["id"] == "organize"
    renames = organize["options"]["renameByName"]
    expr = target["expr"].replace("$workspace", workspace).replace("$__range", "10m")

    def both_edges() -> list[dict[str, Any]] | None:
        rows = server.query(expr)
        return rows if len(rows) == 2 else None

    rows = server.wait_for("both handoff edges", both_edges)
    # Grafana's Prometheus table frame: one field per label plus "Value" (or "Value #<refId>").
    frames = [{renames.get(k, k): v for k, v in {**row["metric"], "Value": row["value"][1]}.items()} for row in rows]
    edges = {(f["source"], f["target"]): f for f in frames}
    assert set(edges) == {("planner", "coder"), ("coder", "reviewer")}
    for (source, target_bot), frame in edges.items():
        assert frame["id"] == f"{source}->{target_bot}"  # the edges frame's required id field
        float(frame["mainstat"])
    assert renames[f"Value #{target['refId']}"] == "mainstat"
    # Grafana takes a frame with a "source" field for the edges frame; there is no other frame, so it
    # builds the nodes from the edges ("reviewer" included) instead of looking them up.
    assert all("source" in frame and "target" in frame for frame in frames)


def test_fast_rules_differ_from_production_only_in_durations(tmp_path: Path) -> None:
    production = sf.load_yaml(sf.RULES)
    fast = sf.load_yaml(fast_rules(tmp_path / "fast.yml"))
    for group in (production, fast):
        for g in group["groups"]:
            g.pop("interval")
            for rule in g["rules"]:
                if rule.get("alert") == ESCALATION:
                    rule.pop("for")
    assert fast == production
    assert re.fullmatch(r"\d+s", TEST_FOR)
