"""Structure of the stack's files: what Docker would otherwise only tell us at `docker compose up`.

No Docker engine runs on the machines these tests run on, so the configs are checked as data:
collector components declared vs used, ports between compose and every config, mounted files,
pinned images, dashboard and datasource uids, Tempo 3.0 keys.
"""

from __future__ import annotations

import re
from pathlib import Path
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


#: Type names contrib 0.159.0 still accepts only as deprecated aliases (each logs a warning at start),
#: with the name it registers instead; None: removed. From the components' metadata.yaml at that
#: version (`type` / `deprecated_type`), per kind, since a name can be current for one kind only
#: (the `otlp` receiver is current, the `otlp` exporter is the alias of `otlp_grpc`).
DEPRECATED_TYPES: dict[str, dict[str, str | None]] = {
    "exporters": {
        "otlp": "otlp_grpc",
        "otlphttp": "otlp_http",
        "loadbalancing": "load_balancing",
        "logging": None,
    },
    "connectors": {
        "spanmetrics": "span_metrics",
        "servicegraph": "service_graph",
        "roundrobin": "round_robin",
        "otlpjson": "otlp_json",
        "signaltometrics": "signal_to_metrics",
    },
    "processors": {
        "resourcedetection": "resource_detection",
        "metricstransform": "metrics_transform",
        "cumulativetodelta": "cumulative_to_delta",
        "deltatocumulative": "delta_to_cumulative",
        "spanmetrics": None,
    },
    "receivers": {},
    "extensions": {},
}


def compose() -> dict[str, Any]:
    data: dict[str, Any] = sf.load_yaml(sf.COMPOSE)
    return data


def port_bindings(service: str, env: dict[str, str] | None = None) -> list[tuple[str, int, int]]:
    """(host address, host port, container port) of each published port, as Compose reads them."""
    out = []
    for entry in sf.compose(env)["services"][service].get("ports", []):
        parts = str(entry).split(":")
        assert len(parts) == 3, f"{service}: {entry} names no host address (that binds every interface)"
        out.append((parts[0], int(parts[1]), int(parts[2])))
    return out


def published(service: str) -> set[int]:
    ports = set()
    for _address, host, container in port_bindings(service):
        assert host == container, f"{service}: host and container port differ ({host} vs {container})"
        ports.add(container)
    return ports


def port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1].split("/", maxsplit=1)[0])


def host_port(url: str) -> tuple[str, int]:
    parsed = urlparse(url if "//" in url else "//" + url)
    assert parsed.hostname and parsed.port, url
    return parsed.hostname, parsed.port


@pytest.mark.parametrize("env", [{}, sf.ALL_TRACE_EXPORTERS_ENV], ids=["default", "all-exporters"])
def test_collector_pipeline_components_are_declared(env: dict[str, str]) -> None:
    config = sf.collector(env)
    used = sf.pipeline_components(config)
    connectors = set(config.get("connectors") or {})
    for kind in ("receivers", "processors", "exporters"):
        declared = set(config.get(kind) or {})
        if kind in ("receivers", "exporters"):
            declared |= connectors
        assert used[kind] <= declared, (kind, used[kind] - declared)
    assert set(config["service"]["extensions"]) <= set(config["extensions"])


def test_collector_every_declared_component_is_used() -> None:
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


def test_documented_exporter_list_is_the_declared_trace_exporters() -> None:
    text = sf.COLLECTOR_CONFIG.read_text(encoding="utf-8")
    found = re.search(r"WORKLOG_TRACE_EXPORTERS='(\[[^']*\])'", text)
    assert found, "the collector config documents WORKLOG_TRACE_EXPORTERS"
    documented = found.group(1)
    assert documented == sf.ALL_TRACE_EXPORTERS_ENV["WORKLOG_TRACE_EXPORTERS"]
    trace_exporters = {name for name in sf.collector()["exporters"] if name != "prometheus"}
    assert set(yaml.safe_load(documented)) == trace_exporters


def test_collector_pipeline_order() -> None:
    config = sf.collector()
    pipelines = config["service"]["pipelines"]
    incoming = pipelines["traces/in"]
    assert incoming["receivers"] == ["otlp"]
    # memory_limiter first, redaction before anything leaves the pipeline.
    assert incoming["processors"][0] == "memory_limiter"
    assert {"transform/redact", "redaction"} <= set(incoming["processors"])
    # Span metrics are computed BEFORE tail sampling: both fed from the redacted stream.
    assert set(incoming["exporters"]) == {"span_metrics", "forward"}
    assert "tail_sampling" not in incoming["processors"]
    assert pipelines["traces/export"]["receivers"] == ["forward"]
    assert pipelines["traces/export"]["processors"][0] == "tail_sampling"
    assert pipelines["metrics/spanmetrics"]["receivers"] == ["span_metrics"]


def test_collector_listens_on_all_interfaces() -> None:
    config = sf.collector()
    assert config["extensions"]["health_check"]["endpoint"] == "0.0.0.0:13133"
    for protocol in config["receivers"]["otlp"]["protocols"].values():
        assert protocol["endpoint"].startswith("0.0.0.0:")
    assert config["exporters"]["prometheus"]["endpoint"].startswith("0.0.0.0:")


def test_collector_settings_from_environment() -> None:
    config = sf.collector({"WORKLOG_SAMPLE_PERCENT": "25", "WORKLOG_UPSTREAM_HEADERS": '{"x-api-key": "k"}'})
    policies = {p["name"]: p for p in config["processors"]["tail_sampling"]["policies"]}
    assert policies["baseline"]["probabilistic"]["sampling_percentage"] == 25
    assert config["exporters"]["otlp_http/upstream"]["headers"] == {"x-api-key": "k"}
    default = sf.collector()
    assert default["exporters"]["otlp_http/upstream"]["headers"] is None
    assert default["exporters"]["otlp_http/upstream"]["endpoint"].endswith(".invalid")
    assert default["processors"]["memory_limiter"]["check_interval"] == "1s"


def test_compose_passes_every_collector_variable() -> None:
    env = compose()["services"]["otel-collector"]["environment"]
    for name in set(sf.env_references(sf.load_yaml(sf.COLLECTOR_CONFIG))):
        assert name in env, name
        # Compose's default equals the config's, so running without compose behaves the same.
        assert env[name].startswith("${" + name + ":-")


def test_loadbalancing_example_routes_by_trace_id() -> None:
    config = sf.expand(sf.load_yaml(sf.LOADBALANCING_CONFIG))
    exporter = config["exporters"]["load_balancing"]
    assert exporter["routing_key"] == "traceID"
    assert "endpoint" not in exporter["protocol"]["otlp"]
    used = sf.pipeline_components(config)
    assert used["exporters"] == {"load_balancing"} == set(config["exporters"])
    assert used["receivers"] == set(config["receivers"]) and used["processors"] == set(config["processors"])
    # It sends to the samplers' OTLP gRPC port, the one config.yaml listens on.
    grpc = sf.collector()["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert exporter["resolver"]["dns"]["port"] == port(grpc)


def test_compose_ports_match_configs() -> None:
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


def test_internal_addresses_match_services_and_ports() -> None:
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


def test_every_mounted_file_exists() -> None:
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            if source.startswith("."):
                assert (sf.ROOT / source).exists(), f"{name}: {source} is missing"
            else:
                assert source in compose()["volumes"], f"{name}: named volume {source} is not declared"
            assert target.startswith("/")


def test_mount_targets_match_what_the_programs_read() -> None:
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


def test_images_are_pinned_to_the_checked_versions() -> None:
    services = compose()["services"]
    for name, image in PINNED.items():
        assert services[name]["image"] == image
    for name, service in services.items():
        repository, _, tag = service["image"].rpartition(":")
        assert repository and tag and tag != "latest", name


def test_startup_is_health_ordered() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in services
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}'s healthcheck"
            elif condition == "service_completed_successfully":
                assert "restart" not in services[dependency]
    # Tempo's distroless image has no shell, but its binary checks itself: `/tempo -health` GETs
    # http://localhost:3200/ready (tempo v3.0.3 cmd/tempo/health.go), so the exec form, and port 3200.
    assert services["tempo"]["healthcheck"]["test"] == ["CMD", "/tempo", "-health"]
    assert sf.load_yaml(sf.TEMPO)["server"]["http_listen_port"] == 3200
    assert services["otel-collector"]["depends_on"]["tempo"]["condition"] == "service_healthy"
    # Jaeger's image is Alpine-based (busybox wget); its all-in-one health endpoint is :13133/status.
    assert services["jaeger"]["healthcheck"]["test"][:2] == ["CMD", "wget"]
    assert services["jaeger"]["healthcheck"]["test"][-1] == "http://localhost:13133/status"
    assert services["jaeger"]["profiles"] == ["jaeger"]
    # The collector image is FROM scratch: nothing in it can run a check, so a busybox gate probes it.
    assert "healthcheck" not in services["otel-collector"]
    gate = " ".join(services["collector-ready"]["command"])
    collector = sf.collector()
    assert f"http://otel-collector:{port(collector['extensions']['health_check']['endpoint'])}/" in gate
    grafana = services["grafana"]["depends_on"]
    assert grafana["collector-ready"]["condition"] == "service_completed_successfully"
    assert grafana["tempo"]["condition"] == grafana["prometheus"]["condition"] == "service_healthy"


def test_every_port_is_published_on_localhost_only() -> None:
    """Grafana runs anonymous Admin and nothing has authentication: no port may face the network."""
    for name in compose()["services"]:
        for address, _host, container in port_bindings(name):
            assert address == "127.0.0.1", f"{name}: port {container} is published on {address}"


def test_otlp_opens_to_other_hosts_only_on_purpose() -> None:
    opened = {"WORKLOG_OTLP_BIND": "0.0.0.0"}
    otlp = {port(e["endpoint"]) for e in sf.collector()["receivers"]["otlp"]["protocols"].values()}
    for name in compose()["services"]:
        for address, _host, container in port_bindings(name, opened):
            expected = "0.0.0.0" if name == "otel-collector" and container in otlp else "127.0.0.1"
            assert address == expected, (name, container)
    readme = sf.ROOT.joinpath("README.md").read_text(encoding="utf-8")
    assert "WORKLOG_OTLP_BIND=0.0.0.0 docker compose up -d" in readme


def test_tempo_uses_3_0_keys() -> None:
    tempo = sf.load_yaml(sf.TEMPO)
    assert "compactor" not in tempo and "ingester" not in tempo
    assert "metrics_generator_processors" not in tempo.get("overrides", {})
    # Retention is applied only from the backend worker's compaction config (or the per-tenant
    # override); the scheduler's compaction block_retention parses but does nothing for it.
    assert tempo["backend_worker"]["compaction"]["block_retention"] == "168h"
    assert "block_retention" not in str(tempo.get("backend_scheduler", {}))
    assert "compaction" not in tempo["overrides"]["defaults"]  # no per-tenant value silently winning
    readme = sf.ROOT.joinpath("README.md").read_text(encoding="utf-8")
    assert "Tempo keeps traces for 7 days" in readme
    assert tempo["storage"]["trace"]["backend"] == "local"
    assert set(tempo["overrides"]["defaults"]["metrics_generator"]["processors"]) == {"span-metrics", "service-graphs"}
    assert tempo["overrides"]["defaults"]["read"]["left_pad_trace_ids"] is True


def test_dashboard_loads_and_uses_provisioned_datasources() -> None:
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


def test_grafana_alert_rules_reference_provisioned_things() -> None:
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


def test_prometheus_alerts_have_labels_annotations_and_a_trace_link() -> None:
    rules = [r for g in sf.load_yaml(sf.RULES)["groups"] for r in g["rules"] if "alert" in r]
    assert {r["alert"] for r in rules} == {"WorklogEscalation", "WorklogToolErrorRate", "WorklogLowConfidenceBurst"}
    dashboard_uid = sf.load_dashboard()["uid"]
    for rule in rules:
        assert {"severity", "category"} <= set(rule["labels"])
        assert {"summary", "description", "traces"} <= set(rule["annotations"])
        assert f"/d/{dashboard_uid}/" in rule["annotations"]["traces"]


@pytest.mark.parametrize("path", [sf.COLLECTOR_CONFIG, sf.LOADBALANCING_CONFIG], ids=lambda p: p.name)
def test_collector_uses_the_current_component_names(path: Path) -> None:
    config = sf.expand(sf.load_yaml(path), sf.ALL_TRACE_EXPORTERS_ENV)
    for kind in KINDS:
        for name in config.get(kind) or {}:
            component_type = name.split("/", 1)[0]
            assert component_type not in DEPRECATED_TYPES[kind], (
                f"{path.name}: {kind} {name}: use {DEPRECATED_TYPES[kind][component_type]!r}"
            )
