"""Run ``otel-worklog`` in this process, as the shell would, and capture what it prints."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass
from unittest import mock

from otel_worklog.cli import app


@dataclass(frozen=True)
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def invoke(*args: str, env: Mapping[str, str] | None = None) -> Result:
    """``app.run(args)`` with stdout and stderr captured; ``env`` is added to the environment meanwhile."""
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, dict(env or {})), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = app.run(list(args))
    return Result(code, out.getvalue(), err.getvalue())
