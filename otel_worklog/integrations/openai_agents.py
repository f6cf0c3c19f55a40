"""Record OpenAI Agents SDK runs as work logs (``pip install 'otel-worklog[openai-agents]'``)::

import otel_worklog as wl
from otel_worklog.integrations import openai_agents

wl.configure(service_name="support")
openai_agents.instrument()
"""

from otel_worklog._internal.integrations.openai_agents import instrument, uninstrument

__all__ = ["instrument", "uninstrument"]
