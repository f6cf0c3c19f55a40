"""Work logs from agent frameworks: OpenAI Agents SDK, LangGraph and pydantic-ai.

Each integration listens to its framework's own events and records them with the same spans,
attributes and content rules as ``wl.bot`` and ``@wl.tool``; what another instrumentation already
records is adopted (stamped and counted once) instead of recorded twice.
"""
