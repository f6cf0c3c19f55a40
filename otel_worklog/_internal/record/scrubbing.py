"""Secret redaction, applied before anything reaches a span.

Work-log text and tool arguments are often written by a model, and models echo
the keys they were given. Every message, detail, tool argument, tool result and
exception message passes through :class:`Scrubber` first.

The rules are plain data (:data:`SECRET_PATTERNS`, :data:`SENSITIVE_KEY_PATTERN`)
because the bundled collector config applies the same rules a second time, for
spans from apps that do not use this SDK; a test keeps the two in step.

Speed matters here: redaction runs on every tool call. One combined regex
decides whether a value needs any work at all, so the common, clean case costs
a single ``search``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

#: (name, regex) pairs for secret *values*. Each match becomes ``[REDACTED:name]``.
SECRET_PATTERNS: Final[tuple[tuple[str, str], ...]] = (
    ("private_key", r"-----BEGIN[A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END[A-Z ]*PRIVATE KEY-----|$)"),
    ("anthropic_key", r"sk-ant-[A-Za-z0-9_\-]{20,}"),
    ("openai_key", r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
    ("aws_access_key", r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"),
    ("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    ("slack_token", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),
    ("google_api_key", r"\bAIza[0-9A-Za-z_\-]{35}"),
    ("jwt", r"\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}"),
    ("bearer_token", r"(?i)\bbearer\s+[A-Za-z0-9._~+/=\-]{8,}"),
    (
        "credential_pair",
        r"(?i)\b(?:password|passwd|pwd|secret|token|api[_\-]?key|access[_\-]?key|secret[_\-]?key|"
        r"client[_\-]?secret|authorization|cookie|aws_secret_access_key)\b\s*[=:]\s*(?!\[REDACTED)[^\s&,;\"']+",
    ),
)

#: Mapping keys whose values are redacted whole, whatever they hold.
SENSITIVE_KEY_PATTERN: Final = (
    r"(?i)(password|passwd|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key|private[_\-]?key|"
    r"authorization|auth[_\-]?header|cookie|set[_\-]?cookie|session[_\-]?id|credential)"
)

REDACTED: Final = "[REDACTED]"

#: Lower-case substrings, one of which appears in any text the rule of the same name can match.
#: Checking substrings is ten times cheaper than running a rule, and most text contains none, so a
#: rule only runs on text that holds one of its triggers.
RULE_TRIGGERS: Final[dict[str, tuple[str, ...]]] = {
    "private_key": ("private key",),
    "anthropic_key": ("sk-ant-",),
    "openai_key": ("sk-",),
    "aws_access_key": ("akia", "asia", "abia", "acca"),
    "github_token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "slack_token": ("xox",),
    "google_api_key": ("aiza",),
    "jwt": ("eyj",),
    "bearer_token": ("bearer",),
    "credential_pair": ("pass", "pwd", "secret", "token", "_key", "-key", "apikey", "authoriz", "cookie"),
}
#: Triggers of :data:`SENSITIVE_KEY_PATTERN`, for JSON text whose keys may be sensitive.
KEY_TRIGGERS: Final = ("pass", "pwd", "secret", "token", "key", "auth", "cookie", "session", "credential")


def _redaction_label(name: str) -> str:
    return f"[REDACTED:{name}]"


class ScrubResult(NamedTuple):
    """A scrubbed value and how many secrets were taken out of it (a named tuple: made on every scrub)."""

    value: Any
    redacted: int


class Scrubber:
    """Redacts secrets from strings and from JSON-like structures.

    ``extra_patterns`` adds (name, regex) rules; ``enabled=False`` makes every
    call a pass-through (``redact=False`` in :func:`otel_worklog.configure`).
    """

    __slots__ = ("_enabled", "_json_triggers", "_key", "_rules", "_text_triggers")

    def __init__(self, *, enabled: bool = True, extra_patterns: tuple[tuple[str, str], ...] = ()) -> None:
        self._enabled = enabled
        rules = SECRET_PATTERNS + tuple(extra_patterns)
        self._rules = tuple(
            (re.compile(regex), _redaction_label(name), RULE_TRIGGERS.get(name) or (_literal_prefix(regex),))
            for name, regex in rules
        )
        self._text_triggers = tuple(dict.fromkeys(t for _, _, triggers in self._rules for t in triggers))
        self._json_triggers = tuple(dict.fromkeys(self._text_triggers + KEY_TRIGGERS))
        self._key = re.compile(SENSITIVE_KEY_PATTERN)

    @property
    def enabled(self) -> bool:
        return self._enabled

    def might_contain_secret(self, text: str) -> bool:
        """Cheap pre-check for JSON text: ``False`` means neither a value nor a key needs redacting."""
        if not self._enabled:
            return False
        lowered = text.lower()
        for trigger in self._json_triggers:  # noqa: SIM110 - a plain loop is faster than any() here
            if trigger in lowered:
                return True
        return False

    def is_sensitive_key(self, key: str) -> bool:
        return self._enabled and self._key.search(key) is not None

    def scrub_text(self, text: str) -> ScrubResult:
        """Replace every secret value inside ``text``."""
        if not self._enabled:
            return ScrubResult(text, 0)
        lowered = text.lower()
        for trigger in self._text_triggers:
            if trigger in lowered:
                break
        else:
            return ScrubResult(text, 0)
        total = 0
        for pattern, label, triggers in self._rules:
            for trigger in triggers:
                if trigger in lowered:
                    text, n = pattern.subn(label, text)
                    total += n
                    break
        return ScrubResult(text, total)

    def scrub_value(self, value: Any) -> ScrubResult:
        """Scrub a JSON-like structure: sensitive keys lose their value, strings lose their secrets."""
        if not self._enabled:
            return ScrubResult(value, 0)
        counter = [0]
        return ScrubResult(self._walk(value, counter, 0), counter[0])

    def _walk(self, value: Any, counter: list[int], depth: int) -> Any:
        if isinstance(value, str):
            result = self.scrub_text(value)
            counter[0] += result.redacted
            return result.value
        if depth > 64:
            return value
        if isinstance(value, Mapping):
            out: dict[Any, Any] = {}
            for key, item in value.items():
                if isinstance(key, str) and self._key.search(key) and not _is_empty(item):
                    out[key] = REDACTED
                    counter[0] += 1
                else:
                    out[key] = self._walk(item, counter, depth + 1)
            return out
        if isinstance(value, list | tuple):
            return [self._walk(item, counter, depth + 1) for item in value]
        return value


def _is_empty(value: Any) -> bool:
    """None or an empty str/list/dict, without calling a user's ``__eq__`` (it may return anything)."""
    return value is None or (type(value) in (str, list, dict, tuple) and len(value) == 0)


def _literal_prefix(regex: str) -> str:
    """The leading literal characters of a user rule, used as its cheap trigger ("" always triggers)."""
    regex = regex.removeprefix("(?i)")
    prefix = []
    for ch in regex:
        if ch in ".^$*+?{}[]\\|()":
            break
        prefix.append(ch)
    return "".join(prefix).lower()


NOOP_SCRUBBER: Final = Scrubber(enabled=False)
DEFAULT_SCRUBBER: Final = Scrubber()
