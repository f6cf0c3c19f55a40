"""The public surface is pinned: renaming or dropping a name is a breaking change."""

from __future__ import annotations

import importlib

import otel_worklog
from otel_worklog import semconv

EXPECTED_ALL = [
    "Alert",
    "Escalation",
    "ExportStats",
    "Handoff",
    "Insight",
    "ThreadPoolExecutor",
    "WorklogSampler",
    "__version__",
    "agent",
    "bot",
    "configure",
    "correction",
    "decision",
    "error",
    "escalate",
    "export_stats",
    "force_flush",
    "format_response",
    "handoff",
    "info",
    "insight",
    "instrument",
    "log",
    "message",
    "on_alert",
    "on_insight",
    "shutdown",
    "thinking",
    "to_agent_artifact",
    "tool",
    "uncertainty",
    "uninstrument",
    "warning",
    "with_context",
    "workspace",
]


def test_all_is_pinned() -> None:
    assert sorted(otel_worklog.__all__) == sorted(EXPECTED_ALL)
    for name in otel_worklog.__all__:
        assert hasattr(otel_worklog, name), name


def test_every_public_name_has_a_lazy_source() -> None:
    assert sorted(otel_worklog.__all__) == sorted(["__version__", *otel_worklog._SOURCES])


def test_public_submodules_only_re_export() -> None:
    for module_name, source in [
        ("otel_worklog.semconv", "otel_worklog._internal.semconv"),
        ("otel_worklog.cli", "otel_worklog._internal.cli.app"),
    ]:
        module = importlib.import_module(module_name)
        origin = importlib.import_module(source)
        assert module.__all__, module_name
        for name in module.__all__:
            assert getattr(module, name) is getattr(origin, name), f"{module_name}.{name} is not a re-export"


def test_semconv_names_the_issue_requires() -> None:
    assert semconv.WORKSPACE_ID == "workspace.id"
    assert semconv.BOT_NAME == "bot.name"
    assert semconv.WORKLOG_CONFIDENCE == "worklog.confidence"
    assert semconv.WORKLOG_ESCALATION == "worklog.escalation"
    assert semconv.prometheus_label(semconv.WORKSPACE_ID) == "workspace_id"


def test_genai_names_match_the_semantic_conventions_package() -> None:
    from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as genai
    from opentelemetry.semconv.attributes import error_attributes

    assert semconv.GEN_AI_OPERATION_NAME == genai.GEN_AI_OPERATION_NAME
    assert semconv.GEN_AI_AGENT_NAME == genai.GEN_AI_AGENT_NAME
    assert semconv.GEN_AI_TOOL_NAME == genai.GEN_AI_TOOL_NAME
    assert semconv.GEN_AI_TOOL_CALL_ARGUMENTS == genai.GEN_AI_TOOL_CALL_ARGUMENTS
    assert semconv.GEN_AI_TOOL_CALL_RESULT == genai.GEN_AI_TOOL_CALL_RESULT
    assert semconv.GEN_AI_USAGE_INPUT_TOKENS == genai.GEN_AI_USAGE_INPUT_TOKENS
    assert semconv.ERROR_TYPE == error_attributes.ERROR_TYPE
