"""Shared insights (the Learning Exchange): which learnings are shareable, and with whom.

A shareable insight (confidence >= 0.85, one of the eight categories) applies to bots by scope:

- ``general``: every bot;
- ``project``: the bots of the workspaces named in ``applies_to`` (their declared participants and
  the bots seen working there), or of the insight's own workspace when ``applies_to`` is empty;
- ``team``: the bots and workspaces named in ``applies_to`` (the workspace's bots when empty);
- ``bot_specific``: only the bots named in ``applies_to``.

The bot that recorded an insight already knows it and is never sent it back. This module is plain
data: the pipeline delivers insights, the store keeps the ledger, the CLI lists them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from otel_worklog._internal import semconv as sc

__all__ = [
    "Insight",
    "InsightCallback",
    "as_names",
    "insight_from_event",
    "insight_id",
    "is_shareable",
    "recipients",
]


@dataclass(frozen=True)
class Insight:
    """One shareable learning. ``recipients`` is None for everyone, else the bots it applies to."""

    id: str
    text: str
    category: str
    confidence: float
    scope: str
    applies_to: tuple[str, ...]
    source_bot: str | None
    workspace_id: str | None
    recipients: frozenset[str] | None
    trace_id: str = ""
    span_id: str = ""
    time_ns: int = 0

    def applies(self, bot: str) -> bool:
        """Whether the insight is for ``bot``: never the bot that recorded it; else its recipients (None: all)."""
        if bot == self.source_bot:
            return False
        return self.recipients is None or bot in self.recipients


InsightCallback = Callable[[Insight], Any]


def is_shareable(attributes: Mapping[str, Any]) -> bool:
    """Confidence >= 0.85 and one of the eight categories (the event's own flag is not trusted alone)."""
    confidence = attributes.get(sc.WORKLOG_CONFIDENCE)
    category = attributes.get(sc.WORKLOG_INSIGHT_CATEGORY)
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
        return False
    if attributes.get(sc.WORKLOG_INSIGHT_SHAREABLE) is False:
        return False
    return confidence >= sc.INSIGHT_SHAREABLE_CONFIDENCE and category in sc.INSIGHT_CATEGORIES


def as_names(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    try:
        return tuple(str(item) for item in value if str(item))
    except TypeError:
        return ()


_SPACES = re.compile(r"\s+")


def insight_id(text: str, category: str, scope: str, applies_to: Iterable[str], workspace_id: str | None) -> str:
    """Duplicates share an id: same words (case and spacing aside), category, scope and audience."""
    names = sorted(set(applies_to))
    where = workspace_id if scope in ("project", "team") and not names else ""
    key = "\x1f".join([_SPACES.sub(" ", text).strip().lower(), category, scope, "\x1e".join(names), where or ""])
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:32]


def recipients(
    scope: str,
    applies_to: tuple[str, ...],
    workspace_id: str | None,
    workspace_bots: Mapping[str, Iterable[str]],
) -> frozenset[str] | None:
    """Who an insight applies to (None: every bot). ``workspace_bots`` maps a workspace to its bots."""
    if scope == "general" or scope not in sc.INSIGHT_SCOPES:
        return None
    if scope == "bot_specific":
        return frozenset(name for name in applies_to if name not in workspace_bots)
    targets: set[str] = set()
    named = applies_to or ((workspace_id,) if workspace_id is not None else ())
    for name in named:
        if name in workspace_bots:
            targets.update(workspace_bots[name])
        elif not name.startswith("#"):
            targets.add(name)
    return frozenset(targets)


def insight_from_event(
    event_attributes: Mapping[str, Any],
    span_attributes: Mapping[str, Any],
    workspace_bots: Mapping[str, Iterable[str]],
    *,
    trace_id: str = "",
    span_id: str = "",
    time_ns: int = 0,
) -> Insight | None:
    """The :class:`Insight` a ``worklog.insight`` event carries, or None when it is not shareable."""
    if not is_shareable(event_attributes):
        return None
    text = str(event_attributes.get(sc.WORKLOG_MESSAGE, ""))
    category = str(event_attributes[sc.WORKLOG_INSIGHT_CATEGORY])
    scope = str(event_attributes.get(sc.WORKLOG_INSIGHT_SCOPE, "general"))
    applies_to = as_names(event_attributes.get(sc.WORKLOG_INSIGHT_APPLIES_TO))
    workspace = span_attributes.get(sc.WORKSPACE_ID)
    workspace_id = workspace if isinstance(workspace, str) else None
    bot = span_attributes.get(sc.BOT_NAME)
    return Insight(
        id=insight_id(text, category, scope, applies_to, workspace_id),
        text=text,
        category=category,
        confidence=float(event_attributes[sc.WORKLOG_CONFIDENCE]),
        scope=scope,
        applies_to=applies_to,
        source_bot=bot if isinstance(bot, str) else None,
        workspace_id=workspace_id,
        recipients=recipients(scope, applies_to, workspace_id, workspace_bots),
        trace_id=trace_id,
        span_id=span_id,
        time_ns=time_ns,
    )
