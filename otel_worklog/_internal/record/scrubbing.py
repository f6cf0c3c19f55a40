"""Secret redaction, applied before anything reaches a span.

Work-log text and tool arguments are often written by a model, and models echo
the keys they were given. Every message, detail (key and value), tool argument,
tool result and exception passes through :class:`Scrubber` first.

The rules are plain data (:data:`SECRET_PATTERNS`, :data:`SENSITIVE_KEY_PATTERN`)
because the bundled collector config applies the same rules a second time, for
spans from apps that do not use this SDK; a test keeps the two in step. So every
rule is written in the subset of regex syntax that Python's ``re`` and Go's RE2
read alike: no ``\\b``, ``\\w`` or ``$`` (they differ between the two), ``\\s`` only
in ``[\\s\\S]``, no back-references, and look-ahead only in the one place the
collector config translates. A rule's first capturing group is kept in front of its label and
its second behind it (the variable name before a password, the scheme and host
around the credentials of a URL), so a reader still sees what was there.

What is *not* a secret matters as much: a rule for a provider key starts only
where a token starts (never inside a longer base64 or base64url run, so images
survive), names are matched by how they end (``max_tokens``, ``tokenizer`` and
``credentials_path`` are not secrets), and after a colon a plain word reads as
prose ("token: the model stopped") rather than as a value.

Speed matters here: redaction runs on every tool call with new content. Cheap
substring triggers decide whether a value needs any work at all, so the common,
clean case costs one ``casefold()`` and a few dozen ``in`` tests, and a rule runs
only on text holding one of its own triggers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

from otel_worklog._internal.record.serialize import MAX_DEPTH, MAX_DEPTH_MARK

#: A token starts here: the start of the text or a character that cannot be part of a base64/base64url run
#: (``=`` can, but only as padding at a run's end, and ``KEY=value`` is too common to give up).
_START: Final = r"(^|[^A-Za-z0-9+/_\-])"
#: Sensitive names, matched by how a name ends (``DB_PASSWORD``, ``x-api-key``, ``access_token``).
_NAMES: Final = (
    r"password|passwd|passphrase|pwd|secret|token|(?:api|access|private|secret)[_.\-]?key|"
    r"(?:signing|encryption|master)[_.\-]key|authorization|auth|cookie|session[_.\-]?id|credentials?"
)
#: A quote, or an escaped one: text inside JSON, even JSON in JSON, is redacted in place and stays valid.
_QUOTE: Final = r"""\\*["']"""
#: A sensitive name, an optional closing quote of the name, blanks: what comes before =, ==, :=, => or :.
_ASSIGN: Final = r"(?i:" + _NAMES + r")(?:" + _QUOTE + r")?[\t ]*"
#: Where an unquoted value ends (a backslash too: cutting the escape of a JSON quote would break the JSON),
#: and what one is made of.
_BREAKS: Final = r"""\t\n\f\r &,;"'\\"""
_VALUE_CHAR: Final = "[^" + _BREAKS + "]"
#: A digit or a symbol that prose rarely has inside a word.
_QUALIFYING: Final = r"0-9_/+@#$%^*~|<>{}"
#: After a colon a value must look like a secret, not like prose ("token: the model stopped"): it holds a
#: digit or symbol, or mixes case inside a word, or is 16+ letters long. It never starts with "[" or "=".
_PLAIN_CHAR: Final = "[^" + _QUALIFYING + _BREAKS + "]"
_SECRET_SHAPED: Final = (
    "(?:"
    + "|".join(
        (
            r"(?:[^\[=" + _QUALIFYING + _BREAKS + "]" + _PLAIN_CHAR + "*)?[" + _QUALIFYING + "]" + _VALUE_CHAR + "*",
            "[A-Za-z][a-z]*[A-Z]" + _VALUE_CHAR + "*",
            "[A-Za-z]{16,}",
        )
    )
    + ")"
)
#: The rest of an unterminated key block: up to a quote, escaped or not, which inside JSON ends the string.
_REST: Final = r'(?:[^"\\]|\\[^"])*'
#: The one look-ahead: a value already redacted by an earlier rule is left alone. RE2 has no
#: look-ahead, so the collector config spells this "the value does not start with [".
NOT_REDACTED: Final = r"(?!\[REDACTED)"

#: (name, regex) pairs for secret *values*, applied in this order. Each match becomes
#: ``[REDACTED:name]``, with the rule's first group kept before the label and its second after.
SECRET_PATTERNS: Final[tuple[tuple[str, str], ...]] = (
    (
        "private_key",
        r"-----BEGIN[A-Z ]*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[\s\S]*?-----END[A-Z ]*PRIVATE KEY(?: BLOCK)?-----|" + _REST + ")",
    ),
    (
        "putty_private_key",
        r"PuTTY-User-Key-File-[0-9]+:(?:[\s\S]*?Private-(?:MAC|Hash):[^\r\n\\" + '"]*|' + _REST + ")",
    ),
    ("url_credentials", r"""(://)[^\t\n\f\r /?#@:"'<>\\]*:[^\t\n\f\r /?#"'<>\\]+(@)"""),
    ("slack_webhook", r"(hooks\.slack\.com/(?:services|workflows|triggers)/)[A-Za-z0-9_/\-]+"),
    (
        "url_signature",
        r"""([?&#;](?i:sig|signature|x-amz-signature|x-amz-credential|x-goog-signature|x-goog-credential)=)"""
        r"""[^&#\t\n\f\r "'<>\\\[][^&#\t\n\f\r "'<>\\]*""",
    ),
    ("anthropic_key", _START + r"sk-ant-[A-Za-z0-9_\-]{20,}"),
    ("openai_key", _START + r"sk-[A-Za-z0-9_\-]*[A-Za-z0-9]{20}[A-Za-z0-9_\-]*"),
    ("stripe_key", _START + r"(?:[sr]k_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{20,})"),
    ("aws_access_key", _START + r"(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}"),
    ("github_token", _START + r"(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    ("gitlab_token", _START + r"glpat-[A-Za-z0-9_\-]{20,}"),
    ("huggingface_token", _START + r"hf_[A-Za-z0-9]{30,}"),
    ("npm_token", _START + r"npm_[A-Za-z0-9]{36,}"),
    ("sendgrid_key", _START + r"SG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}"),
    ("twilio_key", _START + r"(?:SK|AC)[0-9a-f]{32}"),
    ("slack_token", _START + r"(?:xox[abposre](?:\.xox[bp])?|xapp)-[A-Za-z0-9\-]{10,}"),
    ("google_api_key", _START + r"AIza[0-9A-Za-z_\-]{35}"),
    ("google_oauth_token", _START + r"(?:ya29\.[0-9A-Za-z_\-]{20,}|1//0[0-9A-Za-z_\-]{30,})"),
    ("azure_storage_key", r"((?i:AccountKey|SharedAccessKey)[\t ]*=[\t ]*)[A-Za-z0-9+/=]{20,}"),
    ("jwt", _START + r"eyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}"),
    (
        "authorization",
        r"((?i:(?:proxy-)?authorization)(?:" + _QUOTE + r")?[\t ]*[:=][\t ]*(?:" + _QUOTE + r")?"
        r"(?i:basic|bearer|token|digest|negotiate|ntlm|apikey|aws4-hmac-sha256)[\t ]+)"
        r"""[^\r\n"'\\\[][^\r\n"'\\]*""",
    ),
    (
        "cookie",
        r"((?i:(?:set-)?cookie)(?:" + _QUOTE + r")?[\t ]*:[\t ]*(?:" + _QUOTE + r")?)"
        r"""[^\r\n"'\\\[=;][^\r\n"'\\=;]*=[^\r\n"'\\]*""",
    ),
    ("bearer_token", r"((?:^|[^A-Za-z0-9_])(?i:bearer)[\t ]+)" + _SECRET_SHAPED),
    # Assignments of a sensitive name, in four shapes: "quoted", 'quoted', after =, and after a colon.
    ("credential_pair", r"(" + _ASSIGN + r'(?:=>|==|:=|=|:)[\t ]*\\*")[^"\\\r\n\[][^"\\\r\n]*'),
    ("credential_pair", r"(" + _ASSIGN + r"""(?:=>|==|:=|=|:)[\t ]*\\*')[^'"\\\r\n\[][^'"\\\r\n]*"""),
    ("credential_pair", r"(" + _ASSIGN + r"(?:=>|==|:=|=)[\t ]*)" + NOT_REDACTED + _VALUE_CHAR + "+"),
    ("credential_pair", r"(" + _ASSIGN + r":[\t ]*)" + _SECRET_SHAPED),
)

#: Mapping keys whose values are redacted whole, whatever they hold: names that END in a sensitive word.
SENSITIVE_KEY_PATTERN: Final = r"(?i)(?:" + _NAMES + r")$"

REDACTED: Final = "[REDACTED]"

_NAME_TRIGGERS: Final = (
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "token",
    "_key",
    "-key",
    ".key",
    "apikey",
    "accesskey",
    "privatekey",
    "auth",
    "cookie",
    "session_id",
    "session-id",
    "session.id",
    "sessionid",
    "credential",
)
#: Substrings, one of which appears in any text the rule of the same name can match. Lower-case ones are looked
#: for in the case-folded text; a trigger with a capital letter is looked for as written (``AC`` for Twilio,
#: which in lower case would be in most words). Checking substrings is far cheaper than running a rule,
#: and most text contains none, so a rule only runs on text that holds one of its triggers.
RULE_TRIGGERS: Final[dict[str, tuple[str, ...]]] = {
    "private_key": ("private key",),
    "putty_private_key": ("putty-user-key-file-",),
    "url_credentials": ("://",),
    "slack_webhook": ("hooks.slack.com/",),
    "url_signature": ("sig=", "signature=", "credential="),
    "anthropic_key": ("sk-ant-",),
    "openai_key": ("sk-",),
    "stripe_key": ("k_live_", "k_test_", "whsec_"),
    "aws_access_key": ("AKIA", "ASIA", "ABIA", "ACCA"),
    "github_token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "gitlab_token": ("glpat-",),
    "huggingface_token": ("hf_",),
    "npm_token": ("npm_",),
    "sendgrid_key": ("SG.",),
    "twilio_key": ("SK", "AC"),
    "slack_token": ("xox", "xapp-"),
    "google_api_key": ("aiza",),
    "google_oauth_token": ("ya29.", "1//0"),
    "azure_storage_key": ("accountkey", "sharedaccesskey"),
    "jwt": ("eyj",),
    "authorization": ("authoriz",),
    "cookie": ("cookie",),
    "bearer_token": ("bearer",),
    "credential_pair": _NAME_TRIGGERS,
}
#: How the secret of each rule that starts with :data:`_START` begins, as written. The SDK runs such a rule
#: only where one of these starts a token: a 200 kB image holds "sk-" or "eyJ" somewhere, inside its run.
TOKEN_STARTS: Final[dict[str, tuple[str, ...]]] = {
    "anthropic_key": ("sk-ant-",),
    "openai_key": ("sk-",),
    "stripe_key": ("sk_", "rk_", "whsec_"),
    "aws_access_key": ("AKIA", "ASIA", "ABIA", "ACCA"),
    "github_token": ("gh", "github_pat_"),
    "gitlab_token": ("glpat-",),
    "huggingface_token": ("hf_",),
    "npm_token": ("npm_",),
    "sendgrid_key": ("SG.",),
    "twilio_key": ("SK", "AC"),
    "slack_token": ("xox", "xapp-"),
    "google_api_key": ("AIza",),
    "google_oauth_token": ("ya29.", "1//0"),
    "jwt": ("eyJ",),
}
#: Triggers of :data:`SENSITIVE_KEY_PATTERN`, for JSON text whose keys may be sensitive.
KEY_TRIGGERS: Final = _NAME_TRIGGERS


def _redaction_label(name: str) -> str:
    return f"[REDACTED:{name}]"


def replacement(label: str, groups: int) -> str:
    """The ``re.sub`` template of a rule: its first group, the label, its second group."""
    return (r"\g<1>" if groups >= 1 else "") + label + (r"\g<2>" if groups >= 2 else "")


def _is_lower(trigger: str) -> bool:
    return trigger == trigger.lower()


#: Substrings shared by many triggers, looked for first: a text without "_" needs none of the 13 triggers
#: that hold one. The clean common case then checks about half of the triggers.
_GUARDS: Final = ("_", "-", ".", "/", "=", "key", "pass")


class _Triggers:
    """Which rules the triggers in a text call for (a bit mask), checking as few triggers as it can."""

    __slots__ = ("_exact", "_guarded", "_unguarded")

    def __init__(self, calls_for: Mapping[str, int]) -> None:
        groups: dict[str, list[tuple[str, int]]] = {}
        for trigger, mask in calls_for.items():
            if _is_lower(trigger):
                guard = next((g for g in _GUARDS if g in trigger and g != trigger), "")
                groups.setdefault(guard, []).append((trigger, mask))
        self._unguarded = tuple(groups.pop("", ()))
        self._guarded = tuple((guard, tuple(members)) for guard, members in groups.items())
        self._exact = tuple((trigger, mask) for trigger, mask in calls_for.items() if not _is_lower(trigger))

    def calls(self, text: str, folded: str) -> int:
        """The rules ``text`` (and ``folded``, its ``casefold()``) calls for; 0 for the clean common case."""
        called = 0
        for trigger, mask in self._unguarded:
            if trigger in folded:
                called |= mask
        for guard, members in self._guarded:
            if guard in folded:
                for trigger, mask in members:
                    if trigger in folded:
                        called |= mask
        if not text.islower():  # as-written triggers have capitals
            for trigger, mask in self._exact:
                if trigger in text:
                    called |= mask
        return called


class ScrubResult(NamedTuple):
    """A scrubbed value and how many secrets were taken out of it (a named tuple: made on every scrub)."""

    value: Any
    redacted: int


class _Rule(NamedTuple):
    pattern: re.Pattern[str]
    template: str
    #: This rule's bit in the mask of rules a text's triggers call for.
    bit: int
    #: The rule matches only a sensitive name followed by = or : (see :func:`_assigns_a_name`).
    assignment: bool
    #: The rule matches only where one of these starts a token (see :func:`_starts_a_token`).
    starts: tuple[str, ...]


#: A sensitive name that ends where a search stops (``endpos``); for :func:`_assigns_a_name` only.
_NAME_AT_END: Final = re.compile(r"(?i:" + _NAMES + r")\Z")
#: Longer than any name :data:`_NAMES` matches.
_LONGEST_NAME: Final = 32


def _assigns_a_name(text: str) -> bool:
    """Whether a sensitive name, an optional (escaped) quote and blanks come before some ``=`` or ``:``.

    Exactly the part every assignment rule starts with, checked from the few separators backwards
    instead of by four case-insensitive scans of the whole text (a 200 kB image holds "pwd" or
    "_key" somewhere, and no separator but its padding).
    """
    for separator in "=:":
        at = text.find(separator)
        while at != -1:
            end = at
            while end and text[end - 1] in " \t":
                end -= 1
            if end and text[end - 1] in "\"'":
                end -= 1
                while end and text[end - 1] == "\\":
                    end -= 1
            if _NAME_AT_END.search(text, max(0, end - _LONGEST_NAME), end):
                return True
            at = text.find(separator, at + 1)
    return False


#: What :data:`_START` does not accept before a token.
_RUN_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")


def _starts_a_token(text: str, starts: tuple[str, ...]) -> bool:
    """Whether one of ``starts`` is in ``text`` where :data:`_START` accepts it (not inside a base64 run).

    Exactly the start of every rule that begins with :data:`_START`, found with ``str.find`` instead of
    a regex that tries every position of the text.
    """
    for start in starts:
        at = text.find(start)
        while at != -1:
            if at == 0 or text[at - 1] not in _RUN_CHARS:
                return True
            at = text.find(start, at + 1)
    return False


class Scrubber:
    """Redacts secrets from strings and from JSON-like structures.

    ``extra_patterns`` adds (name, regex) rules; ``enabled=False`` makes every
    call a pass-through (``redact=False`` in :func:`otel_worklog.configure`).
    """

    __slots__ = ("_enabled", "_json_triggers", "_key", "_rules", "_triggers")

    def __init__(self, *, enabled: bool = True, extra_patterns: tuple[tuple[str, str], ...] = ()) -> None:
        self._enabled = enabled
        rules = []
        calls_for: dict[str, int] = {}  # trigger -> mask of the rules it calls for
        for i, (name, regex) in enumerate(SECRET_PATTERNS + tuple(extra_patterns)):
            pattern = re.compile(regex)
            template = replacement(_redaction_label(name), pattern.groups)
            assignment = regex.startswith("(" + _ASSIGN)
            rules.append(_Rule(pattern, template, 1 << i, assignment, TOKEN_STARTS.get(name, ())))
            for trigger in RULE_TRIGGERS.get(name) or (_literal_prefix(regex),):
                calls_for[trigger] = calls_for.get(trigger, 0) | 1 << i
        self._rules = tuple(rules)
        self._triggers = _Triggers(calls_for)
        # For JSON text: any rule's trigger, or a sensitive key's (a bit no rule has).
        key_bit = 1 << len(rules)
        self._json_triggers = _Triggers({**calls_for, **{t: calls_for.get(t, 0) | key_bit for t in KEY_TRIGGERS}})
        self._key = re.compile(SENSITIVE_KEY_PATTERN)

    @property
    def enabled(self) -> bool:
        return self._enabled

    def might_contain_secret(self, text: str) -> bool:
        """Cheap pre-check for JSON text: ``False`` means neither a value nor a key needs redacting."""
        return self._enabled and self._json_triggers.calls(text, text.casefold()) != 0

    def is_sensitive_key(self, key: str) -> bool:
        return self._enabled and self._key.search(key) is not None

    def scrub_text(self, text: str) -> ScrubResult:
        """Replace every secret value inside ``text``."""
        if not self._enabled:
            return ScrubResult(text, 0)
        called = self._triggers.calls(text, text.casefold())
        if not called:
            return ScrubResult(text, 0)
        # Triggers and the assignment pre-check look at the text as given: an earlier rule's label
        # ("[REDACTED:openai_key]") never makes a later rule's name or trigger. It can make a token
        # start (the "]" before "ghp_..." that was glued to a key), so that check sees the text as it is now.
        original, assigns, total = text, None, 0
        for rule in self._rules:
            if not called & rule.bit:
                continue
            if rule.assignment:
                if assigns is None:
                    assigns = _assigns_a_name(original)
                if not assigns:
                    continue
            elif rule.starts and not _starts_a_token(text, rule.starts):
                continue
            text, n = rule.pattern.subn(rule.template, text)
            total += n
        return ScrubResult(text, total)

    def scrub_value(self, value: Any) -> ScrubResult:
        """Scrub a JSON-like structure: sensitive keys lose their value, keys and strings lose their secrets.

        Structure nested deeper than ``serialize.MAX_DEPTH`` is cut (replaced by a mark), never passed on unscrubbed.
        """
        if not self._enabled:
            return ScrubResult(value, 0)
        counter = [0]
        return ScrubResult(self._walk(value, counter, 0), counter[0])

    def _walk(self, value: Any, counter: list[int], depth: int) -> Any:
        if isinstance(value, str):
            result = self.scrub_text(value)
            counter[0] += result.redacted
            return result.value
        if not isinstance(value, Mapping | list | tuple):
            return value
        if depth >= MAX_DEPTH:
            return MAX_DEPTH_MARK
        if isinstance(value, Mapping):
            out: dict[Any, Any] = {}
            for key, item in value.items():
                if isinstance(key, str):
                    scrubbed_key = self.scrub_text(key)
                    if scrubbed_key.redacted:
                        counter[0] += scrubbed_key.redacted
                        key = _unused_key(scrubbed_key.value, out)
                    if self._key.search(key) and not _is_empty(item):
                        out[key] = REDACTED
                        counter[0] += 1
                        continue
                out[key] = self._walk(item, counter, depth + 1)
            return out
        return [self._walk(item, counter, depth + 1) for item in value]


def _unused_key(key: str, taken: Mapping[Any, Any]) -> str:
    """``key``, or ``key#2``, ``key#3``...: two keys redacted to the same label must not overwrite each other."""
    candidate, n = key, 1
    while candidate in taken:
        n += 1
        candidate = f"{key}#{n}"
    return candidate


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
    return "".join(prefix).casefold()


NOOP_SCRUBBER: Final = Scrubber(enabled=False)
DEFAULT_SCRUBBER: Final = Scrubber()
