"""A small MCP server for the framework tests, run in its own process over stdio.

``python -m tests.integrations.mcp_server``: the ``mcp`` package's own server (``MCPServer``, which
``mcp`` 1.x called ``FastMCP``), with a tool that answers and a tool that raises ``ToolError``.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("billing-ledger", log_level="WARNING")


@server.tool()
def lookup_invoice(invoice_id: str, api_key: str) -> str:
    """Look up an invoice in the ledger."""
    return f"invoice {invoice_id}: paid"


@server.tool()
def restart_router(router_id: str) -> str:
    """Restart a router: fails as MCP tools report failures, with a message for the client."""
    raise ToolError(f"router {router_id} unreachable")


if __name__ == "__main__":
    server.run("stdio")
