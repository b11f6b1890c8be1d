"""Workspaces, subscriptions and the transport's own calls (ping, shutdown)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hangar.core import names
from hangar.daemon.events import EventBus
from hangar.daemon.rpc.common import Routes, invalid, resolve_workspace, routes
from hangar.proto import api, calls
from hangar.proto import jsonrpc as rpc
from hangar.proto.rows import WorkspaceRow
from hangar.store import Conflict, Store

if TYPE_CHECKING:
    from hangar.daemon.rpc.server import Connection

__all__ = ["WorkspaceRoutes"]


class WorkspaceRoutes:
    def __init__(self, store: Store, events: EventBus, request_stop: Callable[[], None]) -> None:
        self.store = store
        self.events = events
        self.request_stop = request_stop

    def routes(self) -> Routes:
        return routes(
            (calls.PING, self.ping),
            (calls.DAEMON_SHUTDOWN, self.shutdown),
            (calls.WORKSPACE_LIST, self.list),
            (calls.WORKSPACE_CREATE, self.create),
            (calls.WORKSPACE_USE, self.use),
            (calls.WORKSPACE_RENAME, self.rename),
            (calls.WORKSPACE_SUBSCRIBE, self.subscribe),
        )

    async def ping(self, conn: Connection, p: api.Empty) -> dict[str, Any]:
        return {}

    async def shutdown(self, conn: Connection, p: api.Empty) -> dict[str, Any]:
        # stop a moment later, so this answer leaves before the socket closes
        asyncio.get_running_loop().call_later(0.05, self.request_stop)
        return {}

    async def list(self, conn: Connection, p: api.Empty) -> api.WorkspacesResult:
        await self.store.workspace_default()  # the first use bootstraps it
        return api.WorkspacesResult(workspaces=await self.store.workspace_list())

    async def create(self, conn: Connection, p: api.WorkspaceCreateParams) -> WorkspaceRow:
        try:
            names.validate_slug(p.slug)
        except ValueError as exc:
            raise invalid(str(exc)) from None
        try:
            return await self.store.workspace_create(p.slug, p.name or p.slug)
        except Conflict:
            raise rpc.RpcError(rpc.CONFLICT, f"workspace {p.slug!r} already exists") from None

    async def rename(self, conn: Connection, p: api.WorkspaceRenameParams) -> WorkspaceRow:
        """A new slug, checked as create checks one; the id and every row stay."""
        try:
            names.validate_slug(p.slug)
        except ValueError as exc:
            raise invalid(str(exc)) from None
        ws = await resolve_workspace(self.store, p.workspace_id)
        try:
            return await self.store.workspace_rename(ws.id, p.slug, p.name)
        except Conflict:
            raise rpc.RpcError(rpc.CONFLICT, f"workspace {p.slug!r} already exists") from None

    async def use(self, conn: Connection, p: api.WorkspaceUseParams) -> WorkspaceRow:
        ws = await resolve_workspace(self.store, p.workspace_id)
        await self.store.workspace_set_default(ws.id)
        return await resolve_workspace(self.store, ws.id)

    async def subscribe(self, conn: Connection, p: api.WorkspaceScoped) -> api.SubscribeResult:
        ws = await resolve_workspace(self.store, p.workspace_id)
        await conn.attach_subscription(await self.events.subscribe(ws.id))
        return api.SubscribeResult(workspace=ws)
