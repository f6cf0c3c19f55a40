"""The collector's second line of redaction applies the SDK's rules, in the Go regex dialect.

``collector/config.yaml`` repeats ``otel_worklog._internal.record.scrubbing``'s SECRET_PATTERNS (one
transform statement each on attribute values, and one each on attribute keys, same order, same label,
the rule's groups kept around it) and SENSITIVE_KEY_PATTERN (the redaction processor's blocked key
pattern). RE2 has no look-around, so the one ``(?!\\[REDACTED)`` of the SDK is translated: the value
may not start with ``[``. These tests decode the statements the way the collector does (YAML, ``$$``,
OTTL escapes), compare them with the SDK's rules, and run them with RE2 itself (google-re2: the C++
library whose syntax and leftmost-first semantics Go's regexp shares; the collector cannot run here,
there is no Docker), pinning the one documented difference.
"""

from __future__ import annotations

import functools
import json
import re
import string
from typing import Any

import re2
from hypothesis import given, settings
from hypothesis import strategies as st

import otel_worklog as wl
from otel_worklog._internal import semconv as sc
from otel_worklog._internal.record import scrubbing
from otel_worklog.testing import WorklogCapture
from tests.core.secret_corpus import NEGATIVES, POSITIVES

from . import stackfiles as sf

LOOKAROUND = re.compile(r"\(\?(?:=|!|<=|<!)")
#: The translation of the one SDK construct RE2 lacks (see the module docstring).
CREDENTIAL_LOOKAHEAD = scrubbing.NOT_REDACTED + r"""[^\t\n\f\r &,;"'\\]+"""
CREDENTIAL_RE2 = r"""[^\t\n\f\r &,;"'\\\[][^\t\n\f\r &,;"'\\]*"""
JSON_MEMBER_LABEL = '"${1}":"[REDACTED]"'


def translate(regex: str) -> str:
    """The SDK regex as the collector must spell it."""
    translated = regex.replace(CREDENTIAL_LOOKAHEAD, CREDENTIAL_RE2)
    assert scrubbing.NOT_REDACTED not in translated, f"a look-ahead the collector cannot translate: {regex}"
    return translated


def go_replacement(name: str, regex: str) -> str:
    """What the collector must write for a match of an SDK rule: groups kept, as the SDK's ``replacement``."""
    groups = re.compile(regex).groups
    return scrubbing.replacement(f"[REDACTED:{name}]", groups).replace(r"\g<1>", "${1}").replace(r"\g<2>", "${2}")


def _statements() -> dict[str, list[str]]:
    transform = sf.collector()["processors"]["transform/redact"]
    return {block["context"]: block["statements"] for block in transform["trace_statements"]}


def collector_rules(mode: str) -> list[tuple[str, str]]:
    """(regex, replacement) of each statement of ``mode`` ("value" or "key"), in order, as OTTL receives them."""
    rules = []
    for statement in _statements()["span"]:
        assert re.match(r'replace_all_patterns\(attributes, "(value|key)", ', statement), statement
        statement_mode, regex, replacement = sf.ottl_strings(statement)
        if statement_mode == mode:
            rules.append((regex, replacement))
    return rules


def shared_rules(mode: str) -> list[tuple[str, str]]:
    """The collector's copy of SECRET_PATTERNS (without its own JSON-member rule)."""
    return [(regex, replacement) for regex, replacement in collector_rules(mode) if replacement != JSON_MEMBER_LABEL]


@functools.cache
def _compiled(mode: str, shared: bool) -> list[tuple[Any, str]]:
    rules = shared_rules(mode) if shared else collector_rules(mode)
    return [
        (re2.compile(regex), replacement.replace("${1}", r"\g<1>").replace("${2}", r"\g<2>"))
        for regex, replacement in rules
    ]


def _run(mode: str, shared: bool, text: str) -> str:
    for pattern, template in _compiled(mode, shared):
        text = pattern.sub(template, text)
    assert isinstance(text, str)
    return text


def apply_collector(text: str) -> str:
    """What transform/redact makes of a string attribute value."""
    return _run("value", False, text)


def apply_collector_shared(text: str) -> str:
    return _run("value", True, text)


def apply_collector_to_key(key: str) -> str:
    return _run("key", False, key)


def sdk(text: str) -> str:
    value = scrubbing.Scrubber().scrub_text(text).value
    assert isinstance(value, str)
    return value


def test_every_context_gets_the_same_rules() -> None:
    statements = _statements()
    assert set(statements) == {"resource", "span", "spanevent"}
    assert statements["resource"] == statements["span"] == statements["spanevent"]


def test_value_and_key_rules_equal_the_sdk_rules_in_order() -> None:
    """A rule added, dropped, changed or moved on one side only fails here."""
    expected = [(translate(regex), go_replacement(name, regex)) for name, regex in scrubbing.SECRET_PATTERNS]
    assert shared_rules("value") == expected
    assert collector_rules("key") == expected


def test_the_json_member_rule_is_the_only_collector_only_rule_and_runs_first() -> None:
    values = collector_rules("value")
    assert [replacement for _, replacement in values].count(JSON_MEMBER_LABEL) == 1
    assert values[0][1] == JSON_MEMBER_LABEL


def test_no_lookaround_or_backreference_for_re2() -> None:
    regexes = [regex for regex, _ in collector_rules("value") + collector_rules("key")]
    regexes += sf.collector()["processors"]["redaction"]["blocked_key_patterns"]
    for regex in regexes:
        assert not LOOKAROUND.search(regex), regex
        assert not re.search(r"\\[1-9]", regex), regex
        re2.compile(regex)  # raises on anything RE2 cannot parse


def test_no_rule_matches_the_empty_string() -> None:
    """replace_all_patterns matches a non-string value as "": a rule matching "" would turn numbers into text."""
    for regex, _ in collector_rules("value") + collector_rules("key"):
        assert re2.search(regex, "") is None, regex


def test_json_key_rule_uses_the_sdk_key_pattern() -> None:
    json_rules = [regex for regex, replacement in collector_rules("value") if replacement == JSON_MEMBER_LABEL]
    assert len(json_rules) == 1
    found = re.fullmatch(r"\(\?i\)\(\?:(.*)\)\$", scrubbing.SENSITIVE_KEY_PATTERN)
    assert found, scrubbing.SENSITIVE_KEY_PATTERN
    alternation = found.group(1)
    assert f"(?:{alternation}))" in json_rules[0]  # the key ends with a sensitive name, as the SDK's keys do
    redacted = apply_collector('{"query": "weather", "api_key": "abc123", "Session-ID": "x\\"y"}')
    assert redacted == '{"query": "weather", "api_key":"[REDACTED]", "Session-ID":"[REDACTED]"}'
    numbers = apply_collector('{"password": 123456, "max_tokens": 4096, "tokenizer": "cl100k"}')
    assert numbers == '{"password":"[REDACTED]", "max_tokens": 4096, "tokenizer": "cl100k"}'


def test_key_rule_equals_the_sdk_key_pattern() -> None:
    redaction = sf.collector()["processors"]["redaction"]
    assert redaction["allow_all_keys"] is True
    assert redaction["blocked_key_patterns"] == [scrubbing.SENSITIVE_KEY_PATTERN]


def test_ignored_keys_are_exactly_our_names_the_key_pattern_hits() -> None:
    """Our own attributes that match by accident are exempt, and nothing else is; usage counts never match."""
    key = re2.compile(scrubbing.SENSITIVE_KEY_PATTERN)
    accidental = {name for name in sf.semconv_attributes() if key.search(name)}
    assert accidental.isdisjoint({sc.GEN_AI_USAGE_INPUT_TOKENS, sc.GEN_AI_USAGE_OUTPUT_TOKENS})
    assert set(sf.collector()["processors"]["redaction"].get("ignored_keys", [])) == accidental


SAMPLES = [
    "key sk-ant-" + "a" * 30 + " and sk-proj-" + "b" * 24,
    "aws AKIAABCDEFGHIJKLMNOP here",
    "tok ghp_" + "c" * 36 + " and github_pat_" + "d" * 22,
    "slack xoxb-1234567890-abc",
    "google AIza" + "e" * 35,
    "jwt eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl",
    "Authorization: Bearer abcdefgh12345678",
    "password=hunter2&user=bob",
    "api_key: sk-" + "f" * 25,  # the value is redacted first; credential_pair must leave the label alone
    "token=[REDACTED:openai_key], secret=s3cr3t",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY----- tail",
    "-----BEGIN PRIVATE KEY-----\nunterminated\n",
    "nothing secret here, just a decision",
]


def test_collector_and_sdk_redact_the_same_samples() -> None:
    for sample in SAMPLES:
        assert apply_collector(sample) == sdk(sample), sample


def test_collector_and_sdk_redact_the_corpus_alike() -> None:
    """Every corpus text, as a value and as a key: the same output from both (the JSON-member rule aside)."""
    for text in [p.text for p in POSITIVES] + [n.text for n in NEGATIVES]:
        assert apply_collector_shared(text) == sdk(text), text[:200]
        assert apply_collector_to_key(text) == sdk(text), text[:200]


def test_collector_catches_every_secret_of_the_corpus_in_values_and_keys() -> None:
    for positive in POSITIVES:
        outputs = [apply_collector(positive.text), apply_collector_to_key(f"worklog.details.{positive.text}")]
        for secret in positive.secrets:
            assert not any(secret in out for out in outputs), positive.kind


def test_collector_keeps_every_look_alike_of_the_corpus() -> None:
    for negative in NEGATIVES:
        assert apply_collector(negative.text) == negative.text, negative.kind
        assert apply_collector_to_key(f"worklog.details.{negative.text}") == f"worklog.details.{negative.text}"


def test_collector_leaves_what_the_sdk_exported_alone(worklog: WorklogCapture) -> None:
    """SDK spans pass the collector unchanged: no value is redacted twice, no label relabelled."""

    @wl.tool(name="call")
    def call(arguments: object) -> object:
        return arguments

    with wl.workspace("#w"), wl.bot("nanobot"):
        for positive in POSITIVES:
            wl.info(positive.text, details={"note": positive.text, positive.text: 1, "password": "x"})
            call({"text": positive.text, "api_key": "plain", "nested": [positive.text]})
    checked = 0
    for span in worklog.spans():
        for attributes in [span.attributes, *(event.attributes for event in span.events)]:
            for key, value in (attributes or {}).items():
                assert apply_collector_to_key(key) == key
                if isinstance(value, str):
                    assert apply_collector(value) == value, value[:200]
                    checked += 1
    assert checked > 4 * len(POSITIVES)


def test_collector_keeps_json_values_valid_json() -> None:
    """Tool arguments of apps without the SDK arrive as JSON text, even JSON inside JSON: the rules cut
    secrets out of it without breaking it (an escaped quote is a quote, a backslash ends a value)."""
    for text in [p.text for p in POSITIVES] + [n.text for n in NEGATIVES[:40]]:
        once = json.dumps({"command": text, "n": 1})
        twice = json.dumps({"body": once})
        for encoded in (once, twice):
            redacted = apply_collector(encoded)
            decoded = json.loads(redacted)
            while isinstance(decoded, dict) and "body" in decoded:
                decoded = json.loads(decoded["body"])
            assert decoded["n"] == 1, text
    for positive in POSITIVES:
        for encoded in (json.dumps({"command": positive.text}), json.dumps({"body": json.dumps({"c": positive.text})})):
            assert not any(secret in apply_collector(encoded) for secret in positive.secrets), positive.kind


def test_documented_difference_value_starting_with_bracket() -> None:
    """The SDK redacts password=[x]; without look-ahead the collector cannot, and leaves it."""
    sample = "password=[abc]"
    assert sdk(sample) == "password=[REDACTED:credential_pair]"
    assert apply_collector(sample) == sample


FRAGMENTS = [
    "sk-ant-" + "x" * 22,
    "sk-" + "y" * 21,
    "AKIA" + "Z" * 16,
    "ghp_" + "q" * 36,
    "xoxp-abcdefghij",
    "xapp-1-abcdefghij",
    "AIza" + "k" * 35,
    "eyJabcde.eyJfghij.klmnopq",
    "hf_" + "h" * 30,
    "glpat-" + "g" * 20,
    "npm_" + "n" * 36,
    "SG." + "s" * 16 + "." + "t" * 16,
    "SK" + "0123456789abcdef" * 2,
    "AC" + "fedcba9876543210" * 2,
    "sk_live_" + "1" * 10,
    "ya29." + "y" * 20,
    "AccountKey=",
    "://",
    "@",
    "?sig=",
    "hooks.slack.com/services/",
    "bearer tokentoken",
    "Bearer ",
    "Authorization: Basic ",
    "Cookie: ",
    "password",
    "DB_PASSWORD",
    "secret",
    "api-key",
    "max_tokens",
    "token",
    "=",
    ":",
    ": ",
    " ",
    "&",
    ",",
    "-",
    "_",
    "/",
    "value",
    "Value9",
    "-----BEGIN PRIVATE KEY-----",
    "-----END PRIVATE KEY-----",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(string.ascii_letters + string.digits + " =:&-_"))))
def test_collector_and_sdk_agree_on_generated_text(parts: list[Any]) -> None:
    """Texts without "[" (the documented difference) redact identically in both places."""
    text = "".join(parts)
    assert apply_collector_shared(text) == sdk(text)
