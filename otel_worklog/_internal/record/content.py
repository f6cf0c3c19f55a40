"""What may be written to a span: redaction, truncation and content capture in one place."""

from __future__ import annotations

from typing import Any, NamedTuple

from otel_worklog._internal.record import serialize
from otel_worklog._internal.record.scrubbing import Scrubber

_CACHE_SIZE = 4096


class Cleaned(NamedTuple):
    """A span-safe string; a named tuple because one is made on every cache miss, and it is cheaper than a dataclass."""

    text: str
    redacted: int
    truncated: bool


class ContentPolicy:
    """Turns user values into span-safe strings; every public method never raises.

    Work logs repeat themselves (templated messages, the same tool called with the
    same arguments), so recently cleaned strings are remembered: redaction is a pure
    function of the text, and the cache is bounded.
    """

    __slots__ = ("_cache", "capture_content", "max_length", "scrubber")

    def __init__(self, *, scrubber: Scrubber, max_length: int, capture_content: bool) -> None:
        self.scrubber = scrubber
        self.max_length = max_length
        self.capture_content = capture_content
        self._cache: dict[str, Cleaned] = {}

    def text(self, value: str) -> Cleaned:
        """A message or other plain text: secrets out, length bounded."""
        cached = self._cache.get(value)
        if cached is not None:
            return cached
        scrubbed = self.scrubber.scrub_text(serialize.clean_text(value))
        text, truncated = serialize.truncate_text(scrubbed.value, self.max_length)
        cleaned = Cleaned(text, scrubbed.redacted, truncated)
        self._remember(value, cleaned)
        return cleaned

    def json(self, value: Any) -> Cleaned:
        """A structured value (tool arguments, results, details) as bounded, valid JSON."""
        text = serialize.clean_text(serialize.dumps(value))
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        count = 0
        out = text
        if self.scrubber.might_contain_secret(text):
            # Written from the scrubbed copy even when nothing was found: that copy is cut at the depth
            # limit, and a secret below it is then gone from the copy but still in ``text``.
            scrubbed = self.scrubber.scrub_value(serialize.to_jsonable(value))
            count = scrubbed.redacted
            value = scrubbed.value
            out = serialize.clean_text(serialize.dumps(value))
        out, truncated = serialize.truncate_json(value, out, self.max_length)
        if truncated:
            out = serialize.clean_text(out)
        cleaned = Cleaned(out, count, truncated)
        self._remember(text, cleaned)
        return cleaned

    def key(self, key: Any) -> Cleaned:
        """A mapping key that becomes part of an attribute name (``worklog.details.<key>``): secrets out."""
        return self.text(key if isinstance(key, str) else serialize.safe_repr(key))

    def _remember(self, key: str, cleaned: Cleaned) -> None:
        if len(key) > 1024:
            return
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = cleaned
