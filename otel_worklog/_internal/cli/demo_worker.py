"""The second process of ``otel-worklog demo``: a researcher bot picking up a handoff.

It reads one JSON object on stdin (the handoff carrier, the store path and the
step it answers), does its work through the public API and exports into the
same store, so the demo's trace really crosses a process boundary.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import otel_worklog as wl

SERVICE_NAME = "otel-worklog-demo-researcher"


@wl.tool
def scan_auth_module(path: str, strict: bool = False) -> dict[str, Any]:
    """A stand-in security scan: reads nothing, returns fixed findings."""
    time.sleep(0.03)
    return {
        "path": path,
        "risk_score": 35,
        "findings": [
            {"severity": "high", "category": "rate_limiting", "detail": "No rate limiting on /login"},
            {"severity": "medium", "category": "password_policy", "detail": "Minimum length is 6"},
        ],
        "next_actions": ["add_rate_limiting", "decide_password_policy"],
    }


def review_auth(carrier: dict[str, str], answers_step: int | None) -> dict[str, Any]:
    with wl.bot("researcher", role="specialist", handoff=carrier) as me:
        wl.thinking("Reading the auth module for security issues", category="research")
        report = scan_auth_module("src/auth/", strict=True)
        reply = wl.message(
            "Found 2 issues: (1) Missing rate limiting, (2) Weak password policy",
            mentions=["@nanobot"],
            response_to=answers_step,
        )
        wl.decision(
            "Rate limiting is priority #1: the login endpoint is open to brute force",
            category="research",
            confidence=0.9,
            details={"issues": len(report["findings"])},
        )
        return {"trace_id": me.trace_id, "reply_step": reply}


def main() -> None:
    payload = json.loads(sys.stdin.read() or "{}")
    wl.configure(service_name=SERVICE_NAME, store=payload.get("store", ...))
    try:
        result = review_auth(payload.get("carrier") or {}, payload.get("answers_step"))
    finally:
        wl.shutdown()
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
