"""Work logs from agent frameworks, one module each: ``openai_agents``, ``langgraph``, ``pydantic_ai``.

Each module has ``instrument(*, tracer_provider=None)`` and ``uninstrument()``; importing one does
not import its framework, which comes with the extra of the same name
(``pip install 'otel-worklog[openai-agents]'``).
"""

__all__ = ["langgraph", "openai_agents", "pydantic_ai"]
