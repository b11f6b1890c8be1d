"""The UI's one connection to the daemon: it connects, subscribes to the workspace, hands
every event on, and when the daemon goes away it says so and keeps trying until it is back.

The link holds no state the screens need: after a reconnect every screen pulls a fresh
snapshot, so whatever was missed while the daemon was down heals there.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import msgspec

from hangar.client.errors import DaemonUnreachable, RemoteError
from hangar.proto import api, calls
from hangar.proto.events import AnyEvent, decode_event

if TYPE_CHECKING:
    from hangar.client.async_client import AsyncClient
    from hangar.core.paths import HangarPaths
    from hangar.proto.calls import Call
    from hangar.proto.rows import WorkspaceRow

__all__ = ["DaemonLink", "LinkDown", "describe_error"]

P = TypeVar("P", bound=msgspec.Struct)
R = TypeVar("R", bound=msgspec.Struct)

#: waits between connection attempts while the daemon is away (the last one repeats)
RETRY_DELAYS_S = (0.1, 0.25, 0.5, 1.0)
#: an ordinary call from the UI; a create may wait on git
CALL_TIMEOUT_S = 60.0


class LinkDown(Exception):
    """The daemon is not reachable right now; the link is reconnecting."""


@dataclass(frozen=True)
class Handlers:
    up: Callable[[WorkspaceRow], Awaitable[None] | None]
    down: Callable[[str], Awaitable[None] | None]
    event: Callable[[AnyEvent], Awaitable[None] | None]


class DaemonLink:
    """``await link.run(handlers)`` in a worker; ``await link.request(call, params)`` anywhere."""

    def __init__(
        self, paths: HangarPaths | None, workspace: str | None, *, autostart: bool = True
    ) -> None:
        self.paths = paths
        self.workspace = workspace
        self.autostart = autostart
        self.workspace_row: WorkspaceRow | None = None
        self._client: AsyncClient | None = None
        self._down_reason = "connecting to the Hangar daemon"

    @property
    def up(self) -> bool:
        return self._client is not None and not self._client.closed

    async def request(self, call: Call[P, R], params: P, *, timeout: float = CALL_TIMEOUT_S) -> R:
        """The daemon's answer; ``LinkDown`` while there is no connection, ``RemoteError``
        when the daemon refuses (its message is the one to show)."""
        client = self._client
        if client is None or client.closed:
            raise LinkDown(self._down_reason)
        if isinstance(params, api.WorkspaceScoped) and params.workspace_id is None:
            params = msgspec.structs.replace(params, workspace_id=self.workspace_id)
        try:
            return await client.request(call, params, timeout=timeout)
        except DaemonUnreachable as exc:  # the connection broke under this call
            raise LinkDown(exc.summary) from None
        except TimeoutError:
            raise LinkDown(f"no answer to {call.method} within {timeout:g}s") from None

    @property
    def workspace_id(self) -> str | None:
        row = self.workspace_row
        return row.id if row is not None else self.workspace

    async def run(self, handlers: Handlers) -> None:
        """Connect, subscribe, pass events on; on loss report it and start over. Forever."""
        from hangar.client.async_client import AsyncClient

        attempt = 0
        while True:
            try:
                client = await AsyncClient.connect(self.paths, autostart=self.autostart)
            except (DaemonUnreachable, RemoteError, OSError) as exc:
                self._down_reason = _first_line(str(exc))
                if attempt == 0:
                    await _call(handlers.down(self._down_reason))
                await asyncio.sleep(RETRY_DELAYS_S[min(attempt, len(RETRY_DELAYS_S) - 1)])
                attempt += 1
                continue
            autostart_once = self.autostart
            self.autostart = False  # started it once; a daemon that was stopped stays stopped
            try:
                sub = await client.request(
                    calls.WORKSPACE_SUBSCRIBE, api.WorkspaceScoped(workspace_id=self.workspace)
                )
            except (DaemonUnreachable, RemoteError) as exc:
                await client.close()
                self._down_reason = _first_line(str(exc))
                await _call(handlers.down(self._down_reason))
                self.autostart = autostart_once
                await asyncio.sleep(RETRY_DELAYS_S[-1])
                continue
            self._client, self.workspace_row, attempt = client, sub.workspace, 0
            try:
                await _call(handlers.up(sub.workspace))
                async for raw in client.events():
                    try:
                        event = decode_event(msgspec.json.encode(raw))
                    except msgspec.ValidationError:
                        continue  # an event this UI does not know: the next snapshot shows it
                    await _call(handlers.event(event))
            finally:
                self._client = None
                with contextlib.suppress(Exception):
                    await client.close()
            self._down_reason = "lost the connection to the Hangar daemon"
            await _call(handlers.down(self._down_reason))

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()


def describe_error(exc: BaseException) -> str:
    """One line for the user: the daemon's refusal as it said it, or why it is away."""
    if isinstance(exc, RemoteError):
        return exc.message
    if isinstance(exc, LinkDown):
        return f"daemon unreachable — {exc}"
    return _first_line(str(exc)) or type(exc).__name__


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


async def _call(result: Awaitable[None] | None) -> None:
    if result is not None:
        await result
