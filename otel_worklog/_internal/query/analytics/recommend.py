"""Which bot is best for a task, ranked from the work each bot did before.

Relevance is keyword overlap between the task and what a bot has worked on (the workspaces and
queries it served, its role, the tools it called, and what it wrote in its work log). Confidence
weighs relevance by the bot's success rate on the matching sessions and by its experience there:

    relevance  = task keywords found in the bot's history / task keywords
    experience = min(1, matching sessions / 10)
    confidence = relevance * (0.7 * success rate + 0.3 * experience)

A session is a bot's part in one workflow (:class:`~.analyses.BotPart`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from otel_worklog._internal.query.analytics.analyses import BotPart, bot_parts, bot_trends
from otel_worklog._internal.query.analytics.history import BotSession, History

EXPERIENCE_FULL: Final = 10
SUCCESS_WEIGHT: Final = 0.7
EXPERIENCE_WEIGHT: Final = 0.3
_WORD: Final = re.compile(r"[a-z0-9]+")
_CAMEL: Final = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_STOPWORDS: Final = frozenset(
    (
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "how",
        "in",
        "into",
        "is",
        "it",
        "of",
        "on",
        "or",
        "the",
        "this",
        "to",
        "with",
        "what",
        "which",
        "who",
        "why",
        "task",
        "tasks",
        "do",
        "does",
        "make",
        "get",
        "new",
        "use",
        "using",
        "via",
    )
)


def _stem(word: str) -> str:
    for suffix in ("ments", "ment", "ings", "ing", "ers", "er", "ies", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def keywords(text: str) -> set[str]:
    """Lower-case stems of the words of ``text`` (camelCase and snake_case split), stop words dropped."""
    words = _WORD.findall(_CAMEL.sub(" ", text).lower())
    return {_stem(word) for word in words if len(word) >= 2 and word not in _STOPWORDS}


@dataclass
class BotRecommendation:
    bot: str
    confidence: float
    relevance: float
    success_rate: float
    avg_duration_s: float
    total_tasks: int
    matching_tasks: int
    matched_keywords: list[str]
    recent_performance: str


class _Vocabulary:
    """The keywords of what each bot span worked on, each text split once.

    Spans repeat the same workspaces, queries, roles, tools and messages, and the keywords of texts
    joined by spaces are the keywords of each text together (no word spans the space), so a span's set
    is the union of its texts' cached sets, and a span like one seen before reuses its set.
    """

    __slots__ = ("_by_span", "_by_text")

    def __init__(self) -> None:
        self._by_span: dict[tuple[object, ...], frozenset[str]] = {}
        self._by_text: dict[str, frozenset[str]] = {}

    def of_part(self, part: BotPart) -> frozenset[str]:
        spans = part.spans
        if len(spans) == 1:  # the common case: the span's own set, not a copy of it
            return self._of_span(spans[0])
        return frozenset().union(*(self._of_span(span) for span in spans))

    def _of_span(self, session: BotSession) -> frozenset[str]:
        key = (session.workspace_id, session.query, session.role, session.bot, session.text, *session.tools)
        found = self._by_span.get(key)
        if found is None:
            texts = (session.workspace_id or "", session.query or "", session.role or "", session.bot, session.text)
            found = self._by_span[key] = frozenset().union(*map(self._of_text, (*texts, *session.tools)))
        return found

    def _of_text(self, text: str) -> frozenset[str]:
        found = self._by_text.get(text)
        if found is None:
            found = self._by_text[text] = frozenset(keywords(text))
        return found


def recommend(
    history: History,
    task: str,
    *,
    domain: str | None = None,
    min_confidence: float = 0.3,
    include_all: bool = False,
) -> list[BotRecommendation]:
    """Candidates for ``task``, best first. Without ``include_all``: only those at ``min_confidence`` or more.

    ``domain`` keeps the bots whose history mentions it. With ``include_all`` every bot that passes
    the domain filter is listed, even with no matching keyword.
    """
    wanted = keywords(task)
    domain_words = keywords(domain) if domain else set()
    vocabulary_of = _Vocabulary().of_part
    sessions_by_bot = {
        bot: [(part, vocabulary_of(part)) for part in parts] for bot, parts in bot_parts(history).items()
    }
    trends = {trend.bot: trend.trend for trend in bot_trends(history)}
    floor = None if include_all else min_confidence
    results = []
    for bot, items in sessions_by_bot.items():
        vocabulary = set().union(*{words for _, words in items})
        if domain_words and not domain_words & vocabulary:
            continue
        found = _weigh(bot, items, wanted, vocabulary, trends.get(bot, "insufficient_data"), floor)
        if found is not None:
            results.append(found)
    results.sort(key=lambda r: (-r.confidence, -r.matching_tasks, r.bot))
    return results


def _weigh(
    bot: str,
    items: list[tuple[BotPart, frozenset[str]]],
    wanted: set[str],
    vocabulary: set[str],
    trend: str,
    floor: float | None,
) -> BotRecommendation | None:
    """One bot's case for the task; None when it misses ``floor`` (a floor of None: every bot is a candidate).

    Its success rate and time come from its matching sessions, or from all of them when none match.
    """
    matched = sorted(wanted & vocabulary)
    relevance = len(matched) / len(wanted) if wanted else 0.0
    basis = [session for session, words in items if not words.isdisjoint(wanted)]
    if not basis and floor is not None:
        return None
    rated = basis or [session for session, _ in items]
    success_rate = sum(1 for s in rated if s.success) / len(rated)
    experience = min(1.0, len(basis) / EXPERIENCE_FULL)
    confidence = relevance * (SUCCESS_WEIGHT * success_rate + EXPERIENCE_WEIGHT * experience)
    if floor is not None and confidence < floor:
        return None
    return BotRecommendation(
        bot=bot,
        confidence=round(confidence, 4),
        relevance=round(relevance, 4),
        success_rate=round(success_rate, 4),
        avg_duration_s=sum(s.duration_s for s in rated) / len(rated),
        total_tasks=len(items),
        matching_tasks=len(basis),
        matched_keywords=matched,
        recent_performance=trend,
    )
