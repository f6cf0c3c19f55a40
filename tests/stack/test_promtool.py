"""The Prometheus rules, checked and unit-tested by the real promtool (Debian's prometheus package).

``worklog.rules.test.yml`` feeds series with the names and labels the collector's span_metrics
connector produces and asserts when each alert fires. One more test runs a naive
``increase() > 0`` rule on the same input to show the first escalation really is the case
the recording rules exist for.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.conftest import require_tool

from . import stackfiles as sf


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_promtool_check_rules() -> None:
    promtool = require_tool("promtool")
    result = _run(promtool, "check", "rules", str(sf.RULES), cwd=sf.ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 rules found" in result.stdout


def test_promtool_unit_tests() -> None:
    promtool = require_tool("promtool")
    result = _run(promtool, "test", "rules", sf.RULES_TEST.name, cwd=sf.RULES_TEST.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_check_config(tmp_path: Path) -> None:
    """prometheus.yml is valid and its rule_files glob picks up the rules (path mapped to the repo)."""
    promtool = require_tool("promtool")
    config = sf.load_yaml(sf.PROMETHEUS)
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    config["rule_files"] = [str(sf.RULES.parent / "*.yml")]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = _run(promtool, "check", "config", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout


def test_naive_increase_rule_misses_the_first_escalation(tmp_path: Path) -> None:
    """Without the recording rules, the first-escalation case of the unit tests fails."""
    promtool = require_tool("promtool")
    naive = {
        "groups": [
            {
                "name": "naive",
                "rules": [
                    {
                        "alert": "WorklogEscalation",
                        "expr": "sum by (service_name, workspace_id, bot_name) "
                        '(increase(traces_span_metrics_calls_total{worklog_escalation="true"}[10m])) > 0',
                        "labels": {"severity": "page", "category": "escalation"},
                    }
                ],
            }
        ]
    }
    (tmp_path / "naive.rules.yml").write_text(yaml.safe_dump(naive), encoding="utf-8")
    tests = sf.load_yaml(sf.RULES_TEST)
    first = next(t for t in tests["tests"] if t["name"] == "first escalation fires without warm-up")
    for case in first["alert_rule_test"]:
        for alert in case["exp_alerts"]:
            alert.pop("exp_annotations", None)
    tests.update(rule_files=["naive.rules.yml"], tests=[first])
    (tmp_path / "naive.test.yml").write_text(yaml.safe_dump(tests), encoding="utf-8")
    result = _run(promtool, "test", "rules", "naive.test.yml", cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    # The expected alert at the first sample is missing ("got:[]"); nothing else failed.
    assert "time: 1m45s" in output and "got:[]" in output
    assert output.count("alertname:") == 1, output
