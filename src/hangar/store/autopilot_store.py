"""``Store.autopilots``: the autopilot repository behind the store's transactions."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.proto.autopilots import AutopilotRow, AutopilotRunRow
from hangar.store.autopilot_fire import FireOutcome, fire
from hangar.store.autopilots import (
    create,
    delete,
    due,
    earliest_tick,
    get,
    list_for_workspace,
    runs,
    update_fields,
)
from hangar.store.context import StoreContext
from hangar.store.schema import autopilot as _AP
from hangar.store.schema import autopilot_run as _RUN

__all__ = ["AutopilotStore"]

Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


class AutopilotStore:
    """``Store.autopilots``: each call one read or one write transaction."""

    def __init__(self, read: Connect, write: Connect, ctx: StoreContext) -> None:
        self._read = read
        self._write = write
        self._ctx = ctx

    async def create(self, workspace_id: str, **fields: Any) -> AutopilotRow:
        async with self._write() as conn:
            return await create(conn, self._ctx, workspace_id, **fields)

    async def update(self, workspace_id: str, ident: str, **changes: Any) -> AutopilotRow:
        async with self._write() as conn:
            return await update_fields(conn, self._ctx, workspace_id, ident, **changes)

    async def delete(self, workspace_id: str, ident: str) -> tuple[AutopilotRow, int]:
        async with self._write() as conn:
            return await delete(conn, self._ctx, workspace_id, ident)

    async def get(self, workspace_id: str, ident: str) -> AutopilotRow | None:
        async with self._read() as conn:
            return await get(conn, workspace_id, ident)

    async def in_workspace(self, workspace_id: str) -> list[AutopilotRow]:
        async with self._read() as conn:
            return await list_for_workspace(conn, workspace_id)

    async def runs(self, workspace_id: str, ident: str, *, limit: int) -> list[AutopilotRunRow]:
        async with self._read() as conn:
            return await runs(conn, workspace_id, ident, limit=limit)

    async def earliest_tick(self) -> int | None:
        async with self._read() as conn:
            return await earliest_tick(conn)

    async def due(self, now_ms: int) -> list[tuple[str, int]]:
        async with self._read() as conn:
            return await due(conn, now_ms)

    async def fire(
        self, autopilot_id: str, *, expected_tick: int | None, trigger: str = "schedule"
    ) -> FireOutcome:
        async with self._write() as conn:
            return await fire(
                conn, self._ctx, autopilot_id, expected_tick=expected_tick, trigger=trigger
            )

    async def owner_of_run(self, run_id: str) -> tuple[str, str, str] | None:
        """(id, name, instructions) of the autopilot a run belongs to, deleted or not: the
        prompt of a run-mode task, and the names its events carry."""
        async with self._read() as conn:
            found = (
                await conn.execute(
                    select(_AP.c.id, _AP.c.name, _AP.c.instructions)
                    .join(_RUN, _RUN.c.autopilot_id == _AP.c.id)
                    .where(_RUN.c.id == run_id)
                )
            ).first()
        return None if found is None else (found.id, found.name, found.instructions or "")
