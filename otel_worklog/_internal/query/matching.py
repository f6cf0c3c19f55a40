"""What ``how`` matches: every word of the question, in any of its forms, as the start of a word.

``how 'why escalate'`` should find "Escalation: ..." and ``how timeout`` a ``TimeoutError``: the
question loses its small words ("why", "the"), each word is cut to its stem ("escalat", "limit"),
and a stem matches any word it begins ("escalation", "limiter", "timeouterror"). Words are split as
SQLite's FTS5 ``unicode61`` tokenizer splits them (letters and digits; ``_`` separates), so the
store's full-text index and the matching done here (Tempo, error messages) agree.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["fts_query", "matches", "search_terms", "words"]

_WORD: Final = re.compile(r"[^\W_]+", re.UNICODE)
#: Words that say what kind of question it is, not what it is about.
_SMALL_WORDS: Final = frozenset(
    (
        *("a", "an", "and", "are", "as", "at", "be", "by", "did", "do", "does", "for", "from", "had", "has"),
        *("have", "how", "i", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "our", "so"),
        *("that", "the", "their", "them", "there", "this", "to", "was", "we", "were", "what", "when"),
        *("where", "which", "who", "why", "will", "with", "you", "your"),
    )
)
#: Endings cut from a word (longest first), keeping a stem of at least four letters.
_ENDINGS: Final = (
    "ations",
    "ation",
    "ments",
    "ment",
    "ings",
    "ing",
    "ions",
    "ion",
    "ies",
    "ied",
    "ers",
    "er",
    "es",
    "ed",
    "ly",
    "s",
    "e",
)
_STEM_MIN: Final = 4


def words(text: str) -> list[str]:
    """The words of ``text``, lower case, split as the store's full-text index splits them."""
    return [word.lower() for word in _WORD.findall(text)]


def _stem(word: str) -> str:
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _STEM_MIN:
            return word[: -len(ending)]
    return word


def search_terms(text: str) -> list[str]:
    """The stems to look for: the question's words without the small ones (unless that is all there is)."""
    found = words(text)
    kept = [word for word in found if word not in _SMALL_WORDS] or found
    return list(dict.fromkeys(_stem(word) for word in kept))


def fts_query(text: str) -> str | None:
    """An FTS5 query for ``text``: every stem as a prefix; user text never becomes query syntax."""
    terms = search_terms(text)
    if not terms:
        return None
    return " ".join('"' + term.replace('"', '""') + '"*' for term in terms)


def matches(haystack: str, text: str) -> bool:
    """``haystack`` holds ``text``: every stem begins one of its words, or ``text`` is in it as it stands."""
    needle = text.strip().lower()
    if needle and needle in haystack.lower():
        return True
    terms = search_terms(text)
    if not terms:
        return False
    present = words(haystack)
    return all(any(word.startswith(term) for word in present) for term in terms)
