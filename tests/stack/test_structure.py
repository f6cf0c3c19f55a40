"""Structure of the stack's files: what Docker would otherwise only tell us at `docker compose up`.

No Docker engine runs on the machines these tests run on, so the configs are checked as data:
collector components declared vs used, ports between compose and every config, mounted files,
pinned images, dashboard and datasource uids, Tempo 3.0 keys.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from . import stackfiles as sf

KINDS = ("receivers", "processors", "exporters", "connectors", "extensions")
#: Image versions checked against ../shared/reference/stack-facts.md.
PINNED = {
    "otel-collector": "otel/opentelemetry-collector-contrib:0.159.0",
    "tempo": "grafana/tempo:3.0.3",
    "prometheus": "prom/prometheus:v3.14.0",
    "grafana": "grafana/grafana:13.1.3",
    "jaeger": "jaegertracing/jaeger:2.20.0",
}


def compose() -> dict[str, Any]:
    data: dict[str, Any] = sf.load_yaml(sf.COMPOSE)
    return data


def published(service: str) -> set[int]:
    ports = set()
    for entry in compose()["services"][service].get("ports", []):
        host, _, container = str(entry).rpartition(":")
        assert host == container, f"{service}: host and container port differ in {entry}"
        ports.add(int(container))
    return ports


def port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1].split("/", maxsplit=1)[0])


def host_port(url: str) -> tuple[str, int]:
    parsed = urlparse(url if "//" in url else "//" + url)
    assert parsed.hostname and parsed.port, url
    return parsed.hostname, parsed.port


@pytest.mark.parametrize("env", [{}, sf.ALL_TRACE_EXPORTERS_ENV], ids=["default", "all-exporters"])
def test_collector_pipeline_components_are_declared(env):
    config = sf.collector(env)
    used = sf.pipeline_components(config)
    connectors = set(config.get("connectors") or {})
    for kind in ("receivers", "processors", "exporters"):
        declared = set(config.get(kind) or {})
        if kind in ("receivers", "exporters"):
            declared |= connectors
        assert used[kind] <= declared, (kind, used[kind] - declared)
    assert set(config["service"]["extensions"]) <= set(config["extensions"])


def test_collector_every_declared_component_is_used():
    """Declared components are all used, taking the env-selected trace exporters into account."""
    default, everything = sf.collector(), sf.collector(sf.ALL_TRACE_EXPORTERS_ENV)
    used = sf.pipeline_components(everything)
    connectors = set(everything["connectors"])
    assert set(everything["receivers"]) <= used["receivers"]
    assert set(everything["processors"]) <= used["processors"]
    assert set(everything["exporters"]) <= used["exporters"]
    # Each connector is the exporter of one pipeline and the receiver of another.
    assert connectors <= used["exporters"] & used["receivers"]
    assert set(everything["extensions"]) == set(everything["service"]["extensions"])
    # Without the variable only Tempo gets traces (Jaeger/upstream are opt-in).
    assert default["service"]["pipelines"]["traces/export"]["exporters"] == ["otlp_grpc/tempo"]


def test_documented_exporter_list_is_the_declared_trace_exporters():
    text = sf.COLLECTOR_CONFIG.read_text(encoding="utf-8")
    documented = re.search(r"WORKLOG_TRACE_EXPORTERS='(\[[^']*\])'", text).group(1)
    assert documented == sf.ALL_TRACE_EXPORTERS_ENV["WORKLOG_TRACE_EXPORTERS"]
    trace_exporters = {name for name in sf.collector()["exporters"] if name != "prometheus"}
    assert set(yaml.safe_load(documented)) == trace_exporters


def test_collector_pipeline_order():
    config = sf.collector()
    pipelines = config["service"]["pipelines"]
    incoming = pipelines["traces/in"]
    assert incoming["receivers"] == ["otlp"]
    # memory_limiter first, redaction before anything leaves the pipeline.
    assert incoming["processors"][0] == "memory_limiter"
    assert {"transform/redact", "redaction"} <= set(incoming["processors"])
    # Span metrics are computed BEFORE tail sampling: both fed from the redacted stream.
    assert set(incoming["exporters"]) == {"spanmetrics", "forward"}
    assert "tail_sampling" not in incoming["processors"]
    assert pipelines["traces/export"]["receivers"] == ["forward"]
    assert pipelines["traces/export"]["processors"][0] == "tail_sampling"
    assert pipelines["metrics/spanmetrics"]["receivers"] == ["spanmetrics"]


def test_collector_listens_on_all_interfaces():
    config = sf.collector()
    assert config["extensions"]["health_check"]["endpoint"] == "0.0.0.0:13133"
    for protocol in config["receivers"]["otlp"]["protocols"].values():
        assert protocol["endpoint"].startswith("0.0.0.0:")
    assert config["exporters"]["prometheus"]["endpoint"].startswith("0.0.0.0:")


def test_collector_settings_from_environment():
    config = sf.collector({"WORKLOG_SAMPLE_PERCENT": "25", "WORKLOG_UPSTREAM_HEADERS": '{"x-api-key": "k"}'})
    policies = {p["name"]: p for p in config["processors"]["tail_sampling"]["policies"]}
    assert policies["baseline"]["probabilistic"]["sampling_percentage"] == 25
    assert config["exporters"]["otlp_http/upstream"]["headers"] == {"x-api-key": "k"}
    default = sf.collector()
    assert default["exporters"]["otlp_http/upstream"]["headers"] is None
    assert default["exporters"]["otlp_http/upstream"]["endpoint"].endswith(".invalid")
    assert default["processors"]["memory_limiter"]["check_interval"] == "1s"


def test_compose_passes_every_collector_variable():
    env = compose()["services"]["otel-collector"]["environment"]
    for name in set(sf.env_references(sf.load_yaml(sf.COLLECTOR_CONFIG))):
        assert name in env, name
        # Compose's default equals the config's, so running without compose behaves the same.
        assert env[name].startswith("${" + name + ":-")


def test_loadbalancing_example_routes_by_trace_id():
    config = sf.expand(sf.load_yaml(sf.LOADBALANCING_CONFIG))
    exporter = config["exporters"]["loadbalancing"]
    assert exporter["routing_key"] == "traceID"
    assert "endpoint" not in exporter["protocol"]["otlp"]
    used = sf.pipeline_components(config)
    assert used["exporters"] == {"loadbalancing"} == set(config["exporters"])
    assert used["receivers"] == set(config["receivers"]) and used["processors"] == set(config["processors"])
    # It sends to the samplers' OTLP gRPC port, the one config.yaml listens on.
    grpc = sf.collector()["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert exporter["resolver"]["dns"]["port"] == port(grpc)


def test_compose_ports_match_configs():
    collector = sf.collector()
    otlp = collector["receivers"]["otlp"]["protocols"]
    assert published("otel-collector") == {
        port(otlp["grpc"]["endpoint"]),
        port(otlp["http"]["endpoint"]),
        port(collector["extensions"]["health_check"]["endpoint"]),
    }
    tempo = sf.load_yaml(sf.TEMPO)
    assert published("tempo") == {tempo["server"]["http_listen_port"]}
    assert published("prometheus") == {9090}
    assert published("grafana") == {3000}
    assert published("jaeger") == {16686}


def test_internal_addresses_match_services_and_ports():
    services = compose()["services"]
    collector = sf.collector(sf.ALL_TRACE_EXPORTERS_ENV)
    tempo = sf.load_yaml(sf.TEMPO)
    # collector -> Tempo / Jaeger
    host, grpc = host_port(collector["exporters"]["otlp_grpc/tempo"]["endpoint"])
    assert host == "tempo" and grpc == port(tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"])
    assert host_port(collector["exporters"]["otlp_grpc/jaeger"]["endpoint"]) == ("jaeger", 4317)
    # Prometheus scrapes what the collector and Tempo expose.
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"][0] for job in sf.load_yaml(sf.PROMETHEUS)["scrape_configs"]
    }
    assert targets["otel-collector"] == "otel-collector:" + str(port(collector["exporters"]["prometheus"]["endpoint"]))
    self_port = collector["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"]["port"]
    assert targets["otel-collector-self"] == f"otel-collector:{self_port}"
    assert targets["tempo"] == f"tempo:{tempo['server']['http_listen_port']}"
    # Tempo -> Prometheus remote write (needs the receiver flag).
    remote = tempo["metrics_generator"]["storage"]["remote_write"][0]["url"]
    assert host_port(remote) == ("prometheus", 9090) and remote.endswith("/api/v1/write")
    assert "--web.enable-remote-write-receiver" in services["prometheus"]["command"]
    # Grafana datasources -> services.
    for source in sf.load_yaml(sf.DATASOURCES)["datasources"]:
        host, number = host_port(source["url"])
        assert host in services, source["name"]
        assert number in published(host), source["name"]


def test_every_mounted_file_exists():
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            if source.startswith("."):
                assert (sf.ROOT / source).exists(), f"{name}: {source} is missing"
            else:
                assert source in compose()["volumes"], f"{name}: named volume {source} is not declared"
            assert target.startswith("/")


def test_mount_targets_match_what_the_programs_read():
    services = compose()["services"]
    assert "--config=/etc/otelcol-contrib/config.yaml" in services["otel-collector"]["command"]
    assert "-config.file=/etc/tempo.yaml" in services["tempo"]["command"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in services["prometheus"]["command"]
    assert "./grafana/prometheus/rules:/etc/prometheus/rules:ro" in services["prometheus"]["volumes"]
    assert sf.load_yaml(sf.PROMETHEUS)["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    providers = sf.load_yaml(sf.DASHBOARD_PROVIDERS)["providers"]
    assert f"./grafana/dashboards:{providers[0]['options']['path']}:ro" in services["grafana"]["volumes"]
    # Tempo keeps its data in the named volume.
    assert "tempo-data:/var/tempo" in services["tempo"]["volumes"]
    assert sf.load_yaml(sf.TEMPO)["storage"]["trace"]["local"]["path"].startswith("/var/tempo/")


def test_images_are_pinned_to_the_checked_versions():
    services = compose()["services"]
    for name, image in PINNED.items():
        assert services[name]["image"] == image
    for name, service in services.items():
        repository, _, tag = service["image"].rpartition(":")
        assert repository and tag and tag != "latest", name


def test_startup_is_health_ordered():
    services = compose()["services"]
    for name, service in services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in services
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}'s healthcheck"
            elif condition == "service_completed_successfully":
                assert "restart" not in services[dependency]
    # Shell-less images get no in-container healthcheck; the busybox gate probes them instead.
    for shell_less in ("otel-collector", "tempo", "jaeger"):
        assert "healthcheck" not in services[shell_less]
    gate = " ".join(services["stack-ready"]["command"])
    collector = sf.collector()
    assert f"http://otel-collector:{port(collector['extensions']['health_check']['endpoint'])}/" in gate
    assert f"http://tempo:{sf.load_yaml(sf.TEMPO)['server']['http_listen_port']}/ready" in gate
    assert services["grafana"]["depends_on"]["stack-ready"]["condition"] == "service_completed_successfully"
    assert services["jaeger"]["profiles"] == ["jaeger"]


def test_tempo_uses_3_0_keys():
    tempo = sf.load_yaml(sf.TEMPO)
    assert "compactor" not in tempo and "ingester" not in tempo
    assert "metrics_generator_processors" not in tempo.get("overrides", {})
    retention = tempo["backend_scheduler"]["provider"]["compaction"]["compaction"]["block_retention"]
    assert retention == tempo["backend_worker"]["compaction"]["block_retention"]
    assert tempo["storage"]["trace"]["backend"] == "local"
    assert set(tempo["overrides"]["defaults"]["metrics_generator"]["processors"]) == {"span-metrics", "service-graphs"}
    assert tempo["overrides"]["defaults"]["read"]["left_pad_trace_ids"] is True


def test_dashboard_loads_and_uses_provisioned_datasources():
    dashboard = sf.load_dashboard()
    uids = {source["uid"] for source in sf.load_yaml(sf.DATASOURCES)["datasources"]}
    assert {"prometheus", "tempo", "jaeger"} == uids
    assert dashboard["title"] == "Work logs"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] in uids, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] in uids, panel["title"]
    variable = dashboard["templating"]["list"][0]
    assert variable["name"] == "workspace" and variable["datasource"]["uid"] in uids
    types = {panel["type"] for panel in dashboard["panels"]}
    assert {"nodeGraph", "table", "timeseries"} <= types
    # The TraceQL search panel is pre-filled for the $workspace variable.
    assert any(
        t.get("queryType") == "traceql" and "$" + "{workspace:doublequote}" in t["query"]
        for p in dashboard["panels"]
        for t in p["targets"]
    )


def test_grafana_alert_rules_reference_provisioned_things():
    uids = {source["uid"] for source in sf.load_yaml(sf.DATASOURCES)["datasources"]} | {"__expr__"}
    dashboard = sf.load_dashboard()
    panel_ids = {str(panel["id"]) for panel in dashboard["panels"]}
    rules = [rule for group in sf.load_yaml(sf.GRAFANA_ALERTS)["groups"] for rule in group["rules"]]
    assert {rule["uid"] for rule in rules} == {
        "worklog-escalation",
        "worklog-tool-error-rate",
        "worklog-low-confidence-burst",
    }
    for rule in rules:
        refs = {query["refId"] for query in rule["data"]}
        assert rule["condition"] in refs
        for query in rule["data"]:
            assert query["datasourceUid"] in uids
        assert rule["annotations"]["__dashboardUid__"] == dashboard["uid"]
        assert rule["annotations"]["__panelId__"] in panel_ids
        assert rule["labels"]["severity"] in {"page", "warning"}
        # Provisioning expands $VARS, so templates must not use $labels / $value.
        assert "$" not in " ".join(rule["annotations"].values())


def test_prometheus_alerts_have_labels_annotations_and_a_trace_link():
    rules = [r for g in sf.load_yaml(sf.RULES)["groups"] for r in g["rules"] if "alert" in r]
    assert {r["alert"] for r in rules} == {"WorklogEscalation", "WorklogToolErrorRate", "WorklogLowConfidenceBurst"}
    dashboard_uid = sf.load_dashboard()["uid"]
    for rule in rules:
        assert {"severity", "category"} <= set(rule["labels"])
        assert {"summary", "description", "traces"} <= set(rule["annotations"])
        assert f"/d/{dashboard_uid}/" in rule["annotations"]["traces"]
