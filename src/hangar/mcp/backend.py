"""The MCP server's one connection to the Hangar daemon, and how its failures read to a model.

Connecting is lazy (the server answers ``initialize`` and ``tools/list`` without a daemon) and
repeated after a lost connection, so a restarted daemon is picked up by the next tool call. A
call that fails is never retried: ``send`` or ``create`` may already have happened.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, TypeVar

import msgspec
from mcp.server.mcpserver.exceptions import ToolError

from hangar.client.errors import DaemonUnreachable, RemoteError
from hangar.proto import api, jsonrpc

if TYPE_CHECKING:
    from hangar.client.async_client import AsyncClient
    from hangar.core.paths import HangarPaths
    from hangar.proto.calls import Call

__all__ = ["DEFAULT_CALL_TIMEOUT_S", "Backend", "describe"]

DEFAULT_CALL_TIMEOUT_S = 120.0
"""Upper bound for an ordinary call: create may wait ~30 s for the agent before its prompt."""

# JSON-RPC codes without a ``data.kind`` still get a word a model can act on
_CODE_KINDS = {
    jsonrpc.NOT_FOUND: "not_found",
    jsonrpc.CONFLICT: "conflict",
    jsonrpc.INVALID_PARAMS: "invalid_params",
    jsonrpc.FORBIDDEN: "forbidden",
    jsonrpc.UNAUTHORIZED: "unauthorized",
}

P = TypeVar("P", bound=msgspec.Struct)
R = TypeVar("R", bound=msgspec.Struct)


class Backend:
    def __init__(
        self,
        paths: HangarPaths | None = None,
        workspace: str | None = None,
        *,
        token: str | None = None,
    ) -> None:
        self._paths = paths
        self._workspace = workspace
        #: a personal token to say hello with (None: $HANGAR_TOKEN, else the token file)
        self._token = token
        self._client: AsyncClient | None = None
        self._lock = asyncio.Lock()

    async def request(
        self, call: Call[P, R], params: P, *, timeout: float = DEFAULT_CALL_TIMEOUT_S
    ) -> R:
        """The daemon's result, or a ``ToolError`` whose one line names the error kind.

        The server's configured workspace, if any, scopes every call."""
        if self._workspace and isinstance(params, api.WorkspaceScoped):
            params = msgspec.structs.replace(params, workspace_id=self._workspace)
        try:
            client = await self._connected()
            return await client.request(call, params, timeout=timeout)
        except (RemoteError, DaemonUnreachable) as exc:
            raise ToolError(describe(exc)) from None
        except TimeoutError:
            raise ToolError(
                f"timeout: the Hangar daemon did not answer {call.method} within {timeout:g}s"
            ) from None

    async def _connected(self) -> AsyncClient:
        async with self._lock:  # one connect at a time, however many calls arrive together
            if self._client is None or self._client.closed:
                from hangar.client.async_client import AsyncClient

                # the client's default connect timeout covers an autostart's migrations
                self._client = await AsyncClient.connect(self._paths, token=self._token)
            return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def describe(exc: RemoteError | DaemonUnreachable) -> str:
    """``"<kind>: <message>"`` on one line."""
    if isinstance(exc, RemoteError):
        data = exc.data if isinstance(exc.data, dict) else {}
        kind = data.get("kind") or _CODE_KINDS.get(exc.code, "error")
        return _one_line(f"{kind}: {exc.message}")
    # the summary says where to look; the daemon's last log line says why it died
    return _one_line(f"daemon_unreachable: {exc.brief}")


def _one_line(text: str) -> str:
    return " ".join(text.split())
