"""One source of truth: every attribute name the stack's configs use comes from semconv.

The collector's span-metric dimensions and tail-sampling policies, Tempo's dimensions,
the dashboard's TraceQL and the PromQL of the rules, dashboard and Grafana alerts must all
name attributes defined in ``otel_worklog._internal.semconv``, after Prometheus's
translation (``workspace.id`` -> ``workspace_id``). Renaming a constant without updating
the configs (or the reverse) fails here.
"""

from __future__ import annotations

import re
from typing import Any

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.cli import doctor

from . import stackfiles as sf

#: Labels the span-metrics pipeline adds itself (not attributes), plus Prometheus/Grafana's own.
CONNECTOR_LABELS = {"service_name", "span_name", "span_kind", "status_code"}
PROMETHEUS_LABELS = {"job", "instance", "le", "__name__", "alertname"}
NODE_GRAPH_LABELS = {"id"}  # synthetic label built with label_join/label_replace for the node graph

REQUIRED_DIMENSIONS = {
    sc.WORKSPACE_ID,
    sc.BOT_NAME,
    sc.WORKLOG_ESCALATION,
    sc.GEN_AI_OPERATION_NAME,
    sc.GEN_AI_TOOL_NAME,
}


def _connector() -> dict[str, Any]:
    span_metrics: dict[str, Any] = sf.collector()["connectors"]["span_metrics"]
    return span_metrics


def _produced_labels() -> set[str]:
    """Every label the collector's span metrics can carry in Prometheus."""
    connector = _connector()
    names = [d["name"] for d in connector["dimensions"]] + [d["name"] for d in connector["events"]["dimensions"]]
    return {sc.prometheus_label(name) for name in names} | CONNECTOR_LABELS


def _all_promql() -> list[tuple[str, str]]:
    """(where, expression) for every PromQL expression of the rules, dashboard and Grafana alerts."""
    out = []
    for group in sf.load_yaml(sf.RULES)["groups"]:
        for rule in group["rules"]:
            out.append((f"rules:{rule.get('alert') or rule.get('record')}", rule["expr"]))
    for panel in sf.load_dashboard()["panels"]:
        for target in panel.get("targets", []):
            if target["datasource"]["type"] == "prometheus":
                out.append((f"dashboard:{panel['title']}", target["expr"]))
    variable = sf.load_dashboard()["templating"]["list"][0]
    out.append(("dashboard:$workspace", variable["definition"]))
    for group in sf.load_yaml(sf.GRAFANA_ALERTS)["groups"]:
        for rule in group["rules"]:
            for query in rule["data"]:
                if "expr" in query["model"]:
                    out.append((f"grafana-alert:{rule['uid']}", query["model"]["expr"]))
    return out


def test_collector_dimensions_are_semconv_names() -> None:
    connector = _connector()
    dimensions = {d["name"] for d in connector["dimensions"]}
    assert dimensions >= REQUIRED_DIMENSIONS
    assert dimensions <= sf.semconv_attributes(), dimensions - sf.semconv_attributes()
    events = {d["name"] for d in connector["events"]["dimensions"]}
    assert events == {sc.WORKLOG_LEVEL, sc.WORKLOG_FLAGGED_FROM}


def test_event_dimensions_are_not_span_attributes() -> None:
    """The connector looks a dimension up on the span first, so an event dimension must never be set on spans."""
    span_attributes = {sc.WORKLOG_LOW_CONFIDENCE, sc.WORKSPACE_ID, sc.BOT_NAME, sc.WORKLOG_ESCALATION}
    events = {d["name"] for d in _connector()["events"]["dimensions"]}
    assert not events & span_attributes


def test_tail_sampling_policies_use_semconv_names() -> None:
    policies = {p["name"]: p for p in sf.collector()["processors"]["tail_sampling"]["policies"]}
    assert policies["escalations"]["boolean_attribute"] == {"key": sc.WORKLOG_ESCALATION, "value": True}
    assert policies["low-confidence"]["boolean_attribute"] == {"key": sc.WORKLOG_LOW_CONFIDENCE, "value": True}
    assert policies["errors"]["status_code"]["status_codes"] == ["ERROR"]
    condition = policies["handoffs-and-insights"]["ottl_condition"]
    span_keys = {key for c in condition["span"] for key in re.findall(r'attributes\["([^"]+)"\]', c)}
    assert span_keys == {sc.WORKLOG_HANDOFF_TO}
    event_names = {name for c in condition["spanevent"] for name in re.findall(r'name == "([^"]+)"', c)}
    assert event_names == {sc.EVENT_INSIGHT}
    for policy in policies.values():
        for kind in ("boolean_attribute", "string_attribute", "numeric_attribute"):
            if kind in policy:
                assert policy[kind]["key"] in sf.semconv_attributes()


def test_tempo_dimensions_are_semconv_names() -> None:
    processor = sf.load_yaml(sf.TEMPO)["metrics_generator"]["processor"]
    assert set(processor["span_metrics"]["dimensions"]) == REQUIRED_DIMENSIONS
    assert set(processor["service_graphs"]["dimensions"]) <= sf.semconv_attributes()


def test_dashboard_traceql_uses_semconv_names() -> None:
    queries = [
        t["query"]
        for p in sf.load_dashboard()["panels"]
        for t in p.get("targets", [])
        if t["datasource"]["type"] == "tempo"
    ]
    assert queries, "the dashboard has TraceQL panels"
    for query in queries:
        names = sf.traceql_attributes(query)
        assert names, query
        assert names <= sf.semconv_attributes(), (query, names - sf.semconv_attributes())
    assert any(f"span.{sc.WORKSPACE_ID} = ${{workspace:doublequote}}" in q for q in queries)


def test_promql_labels_are_semconv_labels_the_collector_produces() -> None:
    allowed = _produced_labels() | PROMETHEUS_LABELS | NODE_GRAPH_LABELS
    semconv = sf.semconv_labels()
    for where, expr in _all_promql():
        labels = sf.promql_label_names(expr)
        assert labels <= allowed, (where, labels - allowed)
        # Every label that is not the pipeline's own is a translated semconv name.
        assert labels - CONNECTOR_LABELS - PROMETHEUS_LABELS - NODE_GRAPH_LABELS <= semconv, where


def test_alert_rules_key_on_the_semconv_labels() -> None:
    rules = {r["alert"]: r for g in sf.load_yaml(sf.RULES)["groups"] for r in g["rules"] if "alert" in r}
    escalation = sf.promql_label_names(rules["WorklogEscalation"]["expr"])
    assert {sc.prometheus_label(sc.WORKSPACE_ID), sc.prometheus_label(sc.WORKLOG_ESCALATION)} <= escalation
    tools = sf.promql_label_names(rules["WorklogToolErrorRate"]["expr"])
    assert {sc.prometheus_label(sc.GEN_AI_TOOL_NAME), sc.prometheus_label(sc.GEN_AI_OPERATION_NAME)} <= tools
    assert f'"{sc.OPERATION_EXECUTE_TOOL}"' in rules["WorklogToolErrorRate"]["expr"]
    low = sf.promql_label_names(rules["WorklogLowConfidenceBurst"]["expr"])
    assert sc.prometheus_label(sc.WORKLOG_FLAGGED_FROM) in low


def test_promql_label_parser_sees_renames() -> None:
    """The checks above are only as good as the parser: a misspelt label must be caught."""
    labels = sf.promql_label_names('sum by (workspace_ident, bot_name) (x{worklog_escalated="true"})')
    assert {"workspace_ident", "worklog_escalated"} <= labels
    assert not {"workspace_ident", "worklog_escalated"} <= sf.semconv_labels()


def test_doctor_names_match_the_configs() -> None:
    rules_text = sf.RULES.read_text(encoding="utf-8")
    assert f"alert: {doctor.ALERT_ESCALATION}" in rules_text
    assert doctor.METRIC_CALLS in rules_text
    connector = _connector()
    assert connector["namespace"].replace(".", "_") + "_calls_total" == doctor.METRIC_CALLS


def test_traces_to_metrics_tags_map_to_tempo_labels() -> None:
    tempo_ds = next(d for d in sf.load_yaml(sf.DATASOURCES)["datasources"] if d["uid"] == "tempo")
    for tag in tempo_ds["jsonData"]["tracesToMetrics"]["tags"]:
        if tag["key"] == "service.name":
            assert tag["value"] == "service"  # Tempo's generator calls it "service"
        else:
            assert tag["key"] in sf.semconv_attributes()
            assert tag["value"] == sc.prometheus_label(tag["key"])
