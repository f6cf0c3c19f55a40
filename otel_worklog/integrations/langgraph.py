"""Record LangGraph (and LangChain) runs as work logs (``pip install 'otel-worklog[langgraph]'``)::

import otel_worklog as wl
from otel_worklog.integrations import langgraph

wl.configure(service_name="support")
langgraph.instrument()
"""

from otel_worklog._internal.integrations.langgraph import instrument, uninstrument

__all__ = ["instrument", "uninstrument"]
