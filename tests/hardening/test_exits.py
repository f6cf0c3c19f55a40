"""A short script exits promptly whatever the OTLP endpoint does, and says what happened in one line.

The script is run as a user runs it (a fresh interpreter, the standard OTEL_* variables); its time is
compared with the same script exporting nowhere, measured in the same test.
"""

from __future__ import annotations

import pytest

from tests.hardening.procs import Run, child_env, run_script
from tests.wire.receivers import OtlpHttpReceiver, unused_port

pytestmark = pytest.mark.timeout(180)

SCRIPT = """
import time
import otel_worklog as wl

wl.configure(store=False)
with wl.workspace("#quick"), wl.bot("b"):
    wl.info("a quick job")
time.sleep(0.2)
"""


def quick_script(**env: str) -> Run:
    return run_script(SCRIPT, env=child_env(**env))


def warning_lines(run: Run) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def exporting_nowhere() -> float:
    """Seconds the script takes with no OTLP endpoint at all (interpreter start and imports included)."""
    runs = [quick_script() for _ in range(2)]
    assert all(run.returncode == 0 and run.stderr == "" for run in runs), runs
    return min(run.seconds for run in runs)


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_a_refused_endpoint_costs_no_wait_and_one_line(exporting_nowhere: float, protocol: str) -> None:
    run = quick_script(
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{unused_port()}", OTEL_EXPORTER_OTLP_PROTOCOL=protocol
    )
    assert run.returncode == 0, run.stderr
    lines = warning_lines(run)
    assert len(lines) == 1, lines
    assert "refused the connection" in lines[0] and "spans were not exported" in lines[0]
    assert run.seconds < exporting_nowhere + 1.0, f"{run.seconds:.2f} s against {exporting_nowhere:.2f} s"


def test_an_endpoint_that_never_answers_gets_the_shutdown_timeout(
    exporting_nowhere: float, never_answers: OtlpHttpReceiver
) -> None:
    run = quick_script(OTEL_EXPORTER_OTLP_ENDPOINT=never_answers.endpoint, OTEL_WORKLOG_SHUTDOWN_TIMEOUT_S="2")
    assert run.returncode == 0, run.stderr
    assert never_answers.attempts >= 1
    assert run.seconds < exporting_nowhere + 2 + 1.5, f"{run.seconds:.2f} s against {exporting_nowhere:.2f} s"
    lines = warning_lines(run)
    assert len(lines) == 1, lines
    assert "at the shutdown deadline" in lines[0]
