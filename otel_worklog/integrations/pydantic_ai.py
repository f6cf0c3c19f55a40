"""Record pydantic-ai runs as work logs (``pip install 'otel-worklog[pydantic-ai]'``)::

import otel_worklog as wl
from otel_worklog.integrations import pydantic_ai

wl.configure(service_name="support")
pydantic_ai.instrument()
"""

from otel_worklog._internal.integrations.pydantic_ai import instrument, uninstrument

__all__ = ["instrument", "uninstrument"]
