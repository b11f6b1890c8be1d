"""``hangar mcp``: the workspace MCP server, a daemon front end (docs/sessions.md#mcp-server).

stdout is the wire. Everything else (config notes, SDK logs, crashes) goes to stderr, and the
SDK's stdio transport points fd 1 at stderr while serving, so a stray print cannot corrupt it.
"""

from __future__ import annotations

import sys
from typing import Any

from mcp.server.mcpserver import MCPServer

from hangar import __version__
from hangar.mcp.backend import Backend
from hangar.mcp.config import ConfigError, McpConfig, load_config
from hangar.mcp.tools import build_tools

__all__ = ["INSTRUCTIONS", "build_server", "main"]

INSTRUCTIONS = """\
Each workspace is a git worktree opened in its own tmux session running a coding agent.
Typical flow: workspace_create {name} -> workspace_send {id, text} -> workspace_wait_idle {id}
-> workspace_read {id} -> workspace_archive {id}. A human can attach at any time with the
command from workspace_attach_hint. hangar_* tools file issues for Hangar's queued agents,
schedule recurring work for them (hangar_autopilot_create: cron + instructions), give them
skills (hangar_skill_attach) and make new ones from templates (hangar_template_use)."""


def build_server(config: McpConfig, backend: Backend | None = None) -> MCPServer[Any]:
    backend = Backend(workspace=config.workspace) if backend is None else backend
    server: MCPServer[Any] = MCPServer(
        "hangar",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level="WARNING",  # per-call INFO lines would flood the client's stderr log
        tools=build_tools(config, backend),
    )
    return server


def main(config_path: str | None = None, *, token: str | None = None) -> int:
    """Load the configuration, then serve stdio until the client hangs up. Returns an exit code.

    ``token``: a personal token the daemon connection says hello with (its scope bounds
    every tool); None: ``$HANGAR_TOKEN``, else the daemon's token file."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(f"hangar mcp: error: {exc}", file=sys.stderr)
        return 2
    for note in config.notes:
        print(f"hangar mcp: {note}", file=sys.stderr)
    backend = Backend(workspace=config.workspace, token=token)
    server = build_server(config, backend)

    async def serve() -> None:
        try:
            await server.run_stdio_async()
        finally:
            await backend.close()

    import anyio

    try:
        anyio.run(serve)
    except KeyboardInterrupt:
        pass
    return 0
