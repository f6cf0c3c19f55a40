"""Shared test set-up: internal faults raise in our own suite, and tool checks."""

from __future__ import annotations

import os
import shutil

import pytest

from otel_worklog._internal import faults as errors

# In this suite an internal fault of the SDK fails the test that caused it, instead of
# being logged and swallowed as it is for users.
errors.RAISE_INTERNAL_ERRORS = True


def require_tool(name: str) -> str:
    """Path of an external program; skips locally, fails in CI (WORKLOG_TESTS_REQUIRE_TOOLS=1)."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian: see .ci/run)"
        if os.environ.get("WORKLOG_TESTS_REQUIRE_TOOLS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path
