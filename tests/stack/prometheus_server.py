"""A real Prometheus server (Debian's ``prometheus`` binary) on 127.0.0.1, for the alert-path tests.

The server runs the project's rule files and scrapes a local endpoint that stands in for the
collector's ``prometheus`` exporter (see :mod:`tests.stack.span_metrics_endpoint`), with the
scrape settings of ``grafana/prometheus/prometheus.yml`` but second-long intervals. Its data
directory is a temporary one, and the process is always stopped: :meth:`PrometheusServer.stop`
runs from ``__exit__``, terminates, then kills if it has not exited within a few seconds; and if
the test process itself is killed, the kernel sends the server SIGTERM (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from . import stackfiles as sf

T = TypeVar("T")

#: The scrape job of the production config whose target the collector's exporter is.
COLLECTOR_JOB = "otel-collector"
_START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 10.0


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the test process dies, even by SIGKILL (Linux prctl)."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def server_config(*, rule_files: Sequence[Path], target: str, interval: str = "1s") -> dict[str, Any]:
    """The production prometheus.yml with its collector job pointed at ``target`` and short intervals.

    Only the collector job is kept (Tempo and the collector's self-metrics do not exist here); its
    settings (``honor_labels`` and the rest) stay as in production.
    """
    config: dict[str, Any] = sf.load_yaml(sf.PROMETHEUS)
    job = next(j for j in config["scrape_configs"] if j["job_name"] == COLLECTOR_JOB)
    job["static_configs"] = [{"targets": [target]}]
    config["scrape_configs"] = [job]
    config["global"].update(scrape_interval=interval, scrape_timeout=interval, evaluation_interval=interval)
    config["rule_files"] = [str(path) for path in rule_files]
    return config


class PrometheusError(AssertionError):
    """The server did not start, or answered an API call with an error."""


class PrometheusServer:
    """``prometheus`` with a given config, in ``workdir``; use as a context manager."""

    def __init__(self, binary: str, config: dict[str, Any], workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.config_path = workdir / "prometheus.yml"
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        self.log_path = workdir / "prometheus.log"
        self.port = 0
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PrometheusServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- lifecycle ------------------------------------------------------------
    def start(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={self.config_path}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--web.enable-remote-write-receiver",
                    "--log.level=warn",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise PrometheusError(f"prometheus exited with {self._process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise PrometheusError(f"prometheus was not ready within {_START_TIMEOUT_S:g}s:\n{self.log()}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(_STOP_TIMEOUT_S)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    # --- HTTP API -------------------------------------------------------------
    def api(self, path: str, **params: str | float) -> Any:
        """GET ``/api/v1/<path>``; the ``data`` of a ``success`` answer."""
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = json.load(response)
        except urllib.error.HTTPError as exc:
            raise PrometheusError(f"{url}: HTTP {exc.code}: {exc.read()!r}") from None
        if body.get("status") != "success":
            raise PrometheusError(f"{url}: {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector ``expr`` evaluates to now."""
        data = self.api("query", query=expr)
        assert data["resultType"] == "vector", data
        result: list[dict[str, Any]] = data["result"]
        return result

    def alerts(self, alertname: str) -> list[dict[str, Any]]:
        return [a for a in self.api("alerts")["alerts"] if a["labels"].get("alertname") == alertname]

    def rules(self) -> dict[str, dict[str, Any]]:
        """Every loaded rule by name (alert or record), with its health and last error."""
        return {rule["name"]: rule for group in self.api("rules")["groups"] for rule in group["rules"]}

    def wait_for(self, what: str, probe: Callable[[], T | None], timeout_s: float = 60.0) -> T:
        """Poll ``probe`` until it returns something other than None (or fail with the server log)."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = probe()
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise PrometheusError(f"timed out after {timeout_s:g}s waiting for {what}\n{self.log()}")
            assert self.running, f"prometheus died:\n{self.log()}"
            time.sleep(0.1)
