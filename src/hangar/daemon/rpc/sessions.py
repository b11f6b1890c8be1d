"""Interactive sessions: resolve the workspace, call the session service."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from hangar.daemon.rpc.common import Routes, resolve_workspace, routes
from hangar.daemon.sessions.service import SessionService
from hangar.proto import api, calls
from hangar.proto.rows import SessionRow, WorkspaceRow
from hangar.store import Store

if TYPE_CHECKING:
    from hangar.daemon.rpc.server import Connection

__all__ = ["SessionRoutes"]


T = TypeVar("T")


async def _to_the_end(work: Coroutine[Any, Any, T]) -> T:
    """Run a state-changing operation to its end even if the client goes away meanwhile
    (a Ctrl-C must not leave half a worktree, or a row without its branch)."""
    return await asyncio.shield(work)


class SessionRoutes:
    def __init__(self, store: Store, service: SessionService) -> None:
        self.store = store
        self.sessions = service

    def routes(self) -> Routes:
        return routes(
            (calls.SESSION_CREATE, self.create),
            (calls.SESSION_LIST, self.list),
            (calls.SESSION_GET, self.get),
            (calls.SESSION_SEND, self.send),
            (calls.SESSION_READ, self.read),
            (calls.SESSION_IDLE, self.idle),
            (calls.SESSION_WAIT_IDLE, self.wait_idle),
            (calls.SESSION_ATTACH_HINT, self.attach_hint),
            (calls.SESSION_ARCHIVE, self.archive),
            (calls.SESSION_DELETE, self.delete),
            (calls.SESSION_RESUME, self.resume),
        )

    async def _ws(self, ident: str | None) -> WorkspaceRow:
        return await resolve_workspace(self.store, ident)

    async def create(self, conn: Connection, p: api.SessionCreateParams) -> SessionRow:
        ws = await self._ws(p.workspace_id)
        return await _to_the_end(self.sessions.create(ws.id, p))

    async def list(self, conn: Connection, p: api.SessionListParams) -> api.SessionListResult:
        return await self.sessions.list((await self._ws(p.workspace_id)).id, p)

    async def get(self, conn: Connection, p: api.SessionRef) -> SessionRow:
        return await self.sessions.get((await self._ws(p.workspace_id)).id, p.id)

    async def send(self, conn: Connection, p: api.SessionSendParams) -> api.SessionSendResult:
        ws = await self._ws(p.workspace_id)
        await self.sessions.send(ws.id, p.id, p.text, press_enter=p.press_enter)
        return api.SessionSendResult(sent=True)

    async def read(self, conn: Connection, p: api.SessionReadParams) -> api.SessionReadResult:
        return await self.sessions.read((await self._ws(p.workspace_id)).id, p)

    async def idle(self, conn: Connection, p: api.SessionIdleParams) -> api.SessionIdleResult:
        ws = await self._ws(p.workspace_id)
        return await self.sessions.idle(ws.id, p.id, p.threshold_ms)

    async def wait_idle(
        self, conn: Connection, p: api.SessionWaitIdleParams
    ) -> api.SessionWaitIdleResult:
        return await self.sessions.wait_idle((await self._ws(p.workspace_id)).id, p)

    async def attach_hint(self, conn: Connection, p: api.SessionRef) -> api.SessionAttachHint:
        return await self.sessions.attach_hint((await self._ws(p.workspace_id)).id, p.id)

    async def archive(self, conn: Connection, p: api.SessionArchiveParams) -> SessionRow:
        ws = await self._ws(p.workspace_id)
        return await _to_the_end(self.sessions.archive(ws.id, p.id, force=p.force))

    async def delete(self, conn: Connection, p: api.SessionDeleteParams) -> api.SessionDeleteResult:
        ws = await self._ws(p.workspace_id)
        return await _to_the_end(
            self.sessions.delete(ws.id, p.id, confirm=p.confirm, force=p.force)
        )

    async def resume(self, conn: Connection, p: api.SessionResumeParams) -> SessionRow:
        ws = await self._ws(p.workspace_id)
        return await _to_the_end(self.sessions.resume(ws.id, p.id, max_sessions=p.max_sessions))
