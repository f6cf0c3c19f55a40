"""Analytics settings, in the one registry."""

from __future__ import annotations

from otel_worklog._internal.config_params import Setting, positive_float, register

COORDINATION_OVERHEAD_PCT = register(
    Setting(
        "coordination_overhead_pct",
        "OTEL_WORKLOG_COORDINATION_OVERHEAD_PCT",
        30.0,
        positive_float,
        "Coordination overhead (% of coordination + tool time) above which analyze suggests the next phase.",
    )
)
