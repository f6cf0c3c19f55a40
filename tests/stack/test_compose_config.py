"""docker-compose.yml as Compose itself reads it: ``docker-compose config`` (Debian's docker-compose).

``config`` validates the file against Compose's schema and interpolates the environment without a
Docker engine, so the ports, health checks and start-up conditions asserted here are Compose's own
reading of the file. Debian 12 ships Compose 1.29, whose schema predates the top-level ``name:`` key
(Compose v2 reads it): the tests validate a copy without that one line and check ``name`` apart.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import require_tool

from . import stackfiles as sf

PROJECT_NAME = "otel-worklog"


def _compose_file(tmp_path: Path, text: str) -> Path:
    copy = tmp_path / "docker-compose.yml"
    copy.write_text(text.replace(f"name: {PROJECT_NAME}\n", ""), encoding="utf-8")
    return copy


def _config(copy: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``docker-compose config`` of ``copy`` for this project, with ``env`` as the only WORKLOG_* variables."""
    binary = require_tool("docker-compose")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("WORKLOG_", "COMPOSE_"))}
    environment.update(env)
    return subprocess.run(
        [binary, "--file", str(copy), "--project-directory", str(sf.ROOT), "config", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )


def compose_config(tmp_path: Path, **env: str) -> dict[str, Any]:
    """The repository's docker-compose.yml as Compose reads it with ``env``."""
    text = sf.COMPOSE.read_text(encoding="utf-8")
    assert f"\nname: {PROJECT_NAME}\n" in text
    result = _config(_compose_file(tmp_path, text), **env)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def _ports(config: dict[str, Any]) -> dict[str, set[str]]:
    return {name: set(service.get("ports", [])) for name, service in config["services"].items()}


def test_compose_accepts_the_file_and_publishes_on_localhost_only(tmp_path: Path) -> None:
    ports = _ports(compose_config(tmp_path))
    assert ports == {
        "tempo": {"127.0.0.1:3200:3200/tcp"},
        "otel-collector": {"127.0.0.1:4317:4317/tcp", "127.0.0.1:4318:4318/tcp", "127.0.0.1:13133:13133/tcp"},
        "prometheus": {"127.0.0.1:9090:9090/tcp"},
        "jaeger": {"127.0.0.1:16686:16686/tcp"},
        "collector-ready": set(),
        "grafana": {"127.0.0.1:3000:3000/tcp"},
    }


def test_worklog_otlp_bind_opens_only_the_otlp_ports(tmp_path: Path) -> None:
    ports = _ports(compose_config(tmp_path, WORKLOG_OTLP_BIND="0.0.0.0"))
    assert ports["otel-collector"] == {
        "0.0.0.0:4317:4317/tcp",
        "0.0.0.0:4318:4318/tcp",
        "127.0.0.1:13133:13133/tcp",
    }
    assert ports["grafana"] == {"127.0.0.1:3000:3000/tcp"}


def test_start_up_conditions_as_compose_reads_them(tmp_path: Path) -> None:
    services = compose_config(tmp_path)["services"]
    assert services["tempo"]["healthcheck"]["test"] == ["CMD", "/tempo", "-health"]
    assert services["otel-collector"]["depends_on"] == {"tempo": {"condition": "service_healthy"}}
    assert services["grafana"]["depends_on"] == {
        "collector-ready": {"condition": "service_completed_successfully"},
        "tempo": {"condition": "service_healthy"},
        "prometheus": {"condition": "service_healthy"},
    }
    assert services["jaeger"]["profiles"] == ["jaeger"]


@pytest.mark.parametrize(
    ("valid", "typo"),
    [("    healthcheck:\n", "    healthchek:\n"), ("condition: service_healthy", "condition: service_alive")],
    ids=["unknown key", "unknown condition"],
)
def test_compose_config_rejects_a_broken_file(tmp_path: Path, valid: str, typo: str) -> None:
    """The checks above are only as good as Compose's validation: a typo must fail it."""
    text = sf.COMPOSE.read_text(encoding="utf-8")
    assert valid in text
    result = _config(_compose_file(tmp_path, text.replace(valid, typo)), "--quiet")
    assert result.returncode != 0 and "is invalid" in result.stderr
