"""Secrets never reach a span; long and odd values stay readable and valid JSON."""

from __future__ import annotations

import json
import re
import string

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import otel_worklog as wl
from otel_worklog import semconv as sc
from otel_worklog._internal.record import scrubbing
from otel_worklog.testing import WorklogCapture
from tests.recorded import attrs, int_attr, str_attr

SECRETS = {
    "openai": "sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789",
    "anthropic": "sk-ant-api03-Abcdefghijklmnopqrstuvwxyz0123",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "github": "ghp_" + "a1B2" * 9,
    "slack": "xoxb-123456789012-abcdefghijkl",
    "google": "AIza" + "B" * 35,
    "bearer": "Authorization: Bearer abc.def-ghi_jkl",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "private_key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
    "password_pair": "connect with password=hunter2!",
}


class TestRedaction:
    @pytest.mark.parametrize("kind", sorted(SECRETS))
    def test_secret_in_a_message_is_redacted_and_counted(self, worklog: WorklogCapture, kind: str) -> None:
        secret = SECRETS[kind]
        with wl.workspace("#w"), wl.bot("nanobot"):
            wl.info(f"using {secret} now")
        span, event = worklog.events()[0]
        assert secret not in str_attr(event, sc.WORKLOG_MESSAGE)
        assert "[REDACTED" in str_attr(event, sc.WORKLOG_MESSAGE)
        assert int_attr(event, sc.WORKLOG_REDACTED_COUNT) >= 1
        assert int_attr(span, sc.WORKLOG_REDACTED_COUNT) >= 1

    def test_sensitive_keys_in_details_and_tool_arguments(self, worklog: WorklogCapture) -> None:
        @wl.tool
        def login(user: str, password: str, headers: dict[str, str]) -> dict[str, str]:
            return {"session_token": "abc123", "user": user}

        with wl.workspace("#w"), wl.bot("nanobot"):
            wl.info("calling", details={"api_key": "plain-looking-value", "user": "ann"})
            login("ann", "hunter2", {"Authorization": "Basic YWxhZGRpbg==", "Accept": "json"})
        event = worklog.events()[0][1]
        assert attrs(event)["worklog.details.api_key"] == "[REDACTED]"
        assert attrs(event)["worklog.details.user"] == "ann"
        span = worklog.span(
            "execute_tool TestRedaction.test_sensitive_keys_in_details_and_tool_arguments.<locals>.login"
        )
        arguments = json.loads(str_attr(span, sc.GEN_AI_TOOL_CALL_ARGUMENTS))
        assert arguments == {
            "user": "ann",
            "password": "[REDACTED]",
            "headers": {"Authorization": "[REDACTED]", "Accept": "json"},
        }
        assert json.loads(str_attr(span, sc.GEN_AI_TOOL_CALL_RESULT)) == {"session_token": "[REDACTED]", "user": "ann"}
        assert attrs(span)[sc.WORKLOG_REDACTED_COUNT] == 3

    def test_redaction_can_be_switched_off(self, worklog: WorklogCapture) -> None:
        worklog.configure(redact=False)
        with wl.workspace("#w"):
            wl.info(SECRETS["openai"])
        assert attrs(worklog.events()[0][1])[sc.WORKLOG_MESSAGE] == SECRETS["openai"]

    def test_escalation_reason_and_query_are_redacted(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#w", query=f"use {SECRETS['aws']}"), wl.bot("nanobot"):
            wl.escalate(f"leaked {SECRETS['github']}?")
        assert SECRETS["aws"] not in str_attr(worklog.span("workspace #w"), sc.WORKLOG_QUERY)
        assert SECRETS["github"] not in str_attr(worklog.span("escalation"), sc.WORKLOG_ESCALATION_REASON)


class TestLongAndOddValues:
    def test_long_tool_result_is_truncated_to_valid_marked_json(self, worklog: WorklogCapture) -> None:
        worklog.configure(max_value_length=2000)

        @wl.tool(name="dump")
        def dump() -> dict[str, object]:
            return {"rows": ["x" * 500] * 100, "count": 100}

        dump()
        span = worklog.span("execute_tool dump")
        text = str_attr(span, sc.GEN_AI_TOOL_CALL_RESULT)
        assert len(text) <= 2000
        data = json.loads(text)
        assert data["count"] == 100
        assert any("truncated" in str(item) or "more items" in str(item) for item in data["rows"])
        assert attrs(span)[sc.WORKLOG_TRUNCATED] is True

    def test_default_limit_is_16_kib_per_value(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#w"):
            wl.info("y" * 100_000)
        message = str_attr(worklog.events()[0][1], sc.WORKLOG_MESSAGE)
        assert len(message) == 16 * 1024
        assert message.endswith("chars]")

    def test_values_that_cannot_be_serialised_become_readable(self, worklog: WorklogCapture) -> None:
        class BadRepr:
            def __repr__(self) -> str:
                raise RuntimeError("no repr for you")

        loop: list[object] = [1]
        loop.append(loop)

        @wl.tool(name="odd")
        def odd(a: object, b: object, c: object) -> object:
            return {"bytes": b"\x00\xffdata", "set": {3, 1}}

        odd(loop, b"raw", BadRepr())
        span = worklog.span("execute_tool odd")
        arguments = json.loads(str_attr(span, sc.GEN_AI_TOOL_CALL_ARGUMENTS))
        assert arguments["a"] == [1, "<recursive reference>"]
        assert arguments["b"] == "<3 bytes: raw>"
        assert arguments["c"] == "<BadRepr object (repr failed: RuntimeError)>"
        result = json.loads(str_attr(span, sc.GEN_AI_TOOL_CALL_RESULT))
        assert result["bytes"].startswith("<6 bytes:")
        assert result["set"] == ["1", "3"]


#: Starts of every provider rule, and the shapes of assignments, for the skipping test below.
PREFIXES = (
    *("sk-", "sk-ant-", "sk_live_", "rk_test_", "whsec_", "AKIA", "ASIA", "ACCA", "ghp_", "github_pat_", "glpat-"),
    *("hf_", "npm_", "SG.", "SK", "AC", "xoxb-", "xoxe.xoxp-", "xapp-", "AIza", "ya29.", "1//0", "eyJ", ".eyJ"),
    *("://", "u:p@", "hooks.slack.com/services/", "?sig=", "&X-Amz-Signature=", "AccountKey=", "Bearer "),
    *("Authorization: Basic ", "Cookie: a=", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----"),
    *("PuTTY-User-Key-File-2:", "Private-MAC: "),
)
NAMES = (
    *("password", "PASSWD", "passphrase", "pwd", "DB_secret", "auth_token", "api-key", "apiKey", "access_key"),
    *("signing.key", "Authorization", "auth", "cookie", "Session-ID", "sessionid", "credentials", "ſecret"),
)
QUOTES = ("", '"', "'", '\\"', '\\\\\\"', "\\'")
SEPARATORS = ("=", ":", "==", ":=", "=>", " = ", ": ", "\t:\t")
VALUES = st.text(string.ascii_letters + string.digits + "_-./+[]=@", max_size=24)
ASSIGNMENTS = st.tuples(
    st.sampled_from(NAMES), st.sampled_from(QUOTES), st.sampled_from(SEPARATORS), st.sampled_from(QUOTES), VALUES
).map("".join)
KEY_LIKE = st.tuples(st.sampled_from(PREFIXES), st.text(string.hexdigits, max_size=40), VALUES).map(
    lambda parts: parts[0] + parts[1] + "x" * 36 + parts[2]
)


class TestTriggers:
    """The cheap checks that skip rules (substring triggers, the assignment pre-check) never skip a match."""

    @staticmethod
    def every_rule(text: str) -> str:
        """What the rules make of ``text`` with nothing skipped."""
        for name, regex in scrubbing.SECRET_PATTERNS:
            pattern = re.compile(regex)
            text = pattern.sub(scrubbing.replacement(f"[REDACTED:{name}]", pattern.groups), text)
        return text

    @settings(max_examples=400, deadline=None)
    @given(st.lists(ASSIGNMENTS | KEY_LIKE | st.text(string.printable, max_size=6), max_size=6))
    @example(["AKIA" + "Z" * 16, "ghp_" + "q" * 36])  # the first label makes the second a token
    def test_skipping_changes_nothing(self, parts: list[str]) -> None:
        text = "".join(parts)
        assert scrubbing.DEFAULT_SCRUBBER.scrub_text(text).value == self.every_rule(text)

    def test_every_rule_has_triggers(self) -> None:
        assert {name for name, _ in scrubbing.SECRET_PATTERNS} == set(scrubbing.RULE_TRIGGERS)

    def test_every_rule_that_starts_a_token_says_how(self) -> None:
        starting = {name for name, regex in scrubbing.SECRET_PATTERNS if regex.startswith(scrubbing._START)}
        assert starting == set(scrubbing.TOKEN_STARTS)
