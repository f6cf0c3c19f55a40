"""The collector's second line of redaction applies the SDK's rules, in the Go regex dialect.

``collector/config.yaml`` repeats ``otel_worklog._internal.record.scrubbing``'s SECRET_PATTERNS (one
transform statement each, same label) and SENSITIVE_KEY_PATTERN (the redaction processor's
blocked key pattern). RE2 has no look-around, so ``credential_pair``'s ``(?!\\[REDACTED)``
is translated: the value may not start with ``[``. These tests decode the statements the
way the collector does (YAML, ``$$``, OTTL escapes), compare them with the SDK's rules, and
run both on the same texts with Python's ``re`` (the RE2 subset used here means the same
in both engines), pinning the one documented difference.
"""

from __future__ import annotations

import re
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.record import scrubbing

from . import stackfiles as sf

LOOKAROUND = re.compile(r"\(\?(?:=|!|<=|<!)")
SDK = dict(scrubbing.SECRET_PATTERNS)
#: The translation of the one SDK construct RE2 lacks (see the module docstring).
CREDENTIAL_LOOKAHEAD = r"(?!\[REDACTED)[^\s&,;\"']+"
CREDENTIAL_RE2 = r"""[^\s&,;"'\[][^\s&,;"']*"""


def translate(name: str, regex: str) -> str:
    """The SDK regex as the collector must spell it."""
    if name == "credential_pair":
        assert CREDENTIAL_LOOKAHEAD in regex
        return regex.replace(CREDENTIAL_LOOKAHEAD, CREDENTIAL_RE2)
    return regex


def _statements() -> dict[str, list[str]]:
    transform = sf.collector()["processors"]["transform/redact"]
    return {block["context"]: block["statements"] for block in transform["trace_statements"]}


def collector_value_rules() -> list[tuple[str, str, str]]:
    """(regex, replacement, label) of each statement, in order, as OTTL receives them."""
    rules = []
    for statement in _statements()["span"]:
        assert statement.startswith('replace_all_patterns(attributes, "value", '), statement
        _mode, regex, replacement = sf.ottl_strings(statement)
        rules.append((regex, replacement, replacement))
    return rules


def apply_collector(text: str) -> str:
    for regex, replacement, _ in collector_value_rules():
        text = re.sub(regex, replacement.replace("$1", r"\g<1>"), text)
    return text


def test_every_context_gets_the_same_rules():
    statements = _statements()
    assert set(statements) == {"resource", "span", "spanevent"}
    assert statements["resource"] == statements["span"] == statements["spanevent"]


def test_value_rules_equal_the_sdk_rules():
    by_label = {label: regex for regex, _, label in collector_value_rules()}
    for name, regex in scrubbing.SECRET_PATTERNS:
        label = f"[REDACTED:{name}]"
        assert label in by_label, f"collector lacks the SDK rule {name}"
        assert by_label[label] == translate(name, regex), name
    # Same order as the SDK, so overlapping rules (sk-ant- before sk-) resolve the same way.
    labels = [label for _, _, label in collector_value_rules() if label.startswith("[REDACTED:")]
    assert labels == [f"[REDACTED:{name}]" for name, _ in scrubbing.SECRET_PATTERNS]


def test_no_lookaround_or_backreference_for_re2():
    regexes = [regex for regex, _, _ in collector_value_rules()]
    regexes += sf.collector()["processors"]["redaction"]["blocked_key_patterns"]
    for regex in regexes:
        assert not LOOKAROUND.search(regex), regex
        assert not re.search(r"\\[1-9]", regex), regex
        re.compile(regex)


def test_json_key_rule_uses_the_sdk_key_pattern():
    json_rules = [regex for regex, _, label in collector_value_rules() if label == '"$1":"[REDACTED]"']
    assert len(json_rules) == 1
    alternation = re.fullmatch(r"\(\?i\)\((.*)\)", scrubbing.SENSITIVE_KEY_PATTERN).group(1)
    assert f"(?:{alternation})" in json_rules[0]
    redacted = apply_collector('{"query": "weather", "api_key": "abc123", "Session-ID": "x\\"y"}')
    assert redacted == '{"query": "weather", "api_key":"[REDACTED]", "Session-ID":"[REDACTED]"}'


def test_key_rule_equals_the_sdk_key_pattern():
    redaction = sf.collector()["processors"]["redaction"]
    assert redaction["allow_all_keys"] is True
    assert redaction["blocked_key_patterns"] == [scrubbing.SENSITIVE_KEY_PATTERN]


def test_ignored_keys_are_exactly_our_names_the_key_pattern_hits():
    """Our own attributes that match by accident (token counts) are exempt, and nothing else is."""
    key = re.compile(scrubbing.SENSITIVE_KEY_PATTERN)
    accidental = {name for name in sf.semconv_attributes() if key.search(name)}
    assert {sc.GEN_AI_USAGE_INPUT_TOKENS, sc.GEN_AI_USAGE_OUTPUT_TOKENS} <= accidental
    assert set(sf.collector()["processors"]["redaction"]["ignored_keys"]) == accidental


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
    "-----BEGIN PRIVATE KEY-----\nunterminated",
    "nothing secret here, just a decision",
]


def test_collector_and_sdk_redact_the_same_samples():
    scrubber = scrubbing.Scrubber()
    for sample in SAMPLES:
        assert apply_collector(sample) == scrubber.scrub_text(sample).value, sample


def test_documented_difference_value_starting_with_bracket():
    """The SDK redacts password=[x]; without look-ahead the collector cannot, and leaves it."""
    sample = "password=[abc]"
    assert scrubbing.Scrubber().scrub_text(sample).value == "[REDACTED:credential_pair]"
    assert apply_collector(sample) == sample


FRAGMENTS = [
    "sk-ant-" + "x" * 22,
    "sk-" + "y" * 21,
    "AKIA" + "Z" * 16,
    "ghp_" + "q" * 36,
    "xoxp-abcdefghij",
    "AIza" + "k" * 35,
    "eyJabcde.eyJfghij.klmnopq",
    "bearer tokentoken",
    "password",
    "secret",
    "api-key",
    "=",
    ": ",
    " ",
    "&",
    ",",
    "value",
    "-----BEGIN PRIVATE KEY-----",
    "-----END PRIVATE KEY-----",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(string.ascii_letters + string.digits + " =:&"))))
def test_collector_and_sdk_agree_on_generated_text(parts):
    """Texts without "[" (the documented difference) redact identically in both places."""
    text = "".join(parts)
    assert apply_collector(text) == scrubbing.Scrubber().scrub_text(text).value
