"""A task's transcript (typed messages, gap-free seq) and its per-model token usage."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.proto.rows import TaskMessageRow, TaskUsageRow
from hangar.store.context import StoreContext
from hangar.store.convert import message_row, usage_row
from hangar.store.errors import InvalidValue, NotFound
from hangar.store.schema import MESSAGE_KINDS, agent_task_queue, task_message, task_usage

_T, _M, _U = agent_task_queue, task_message, task_usage


async def _lock_task(conn: AsyncConnection, task_id: str) -> None:
    """Lock the task row so concurrent appends for one task take turns numbering (SQLite's
    write lock already serialises them; PostgreSQL needs the row lock)."""
    found = await conn.scalar(select(_T.c.id).where(_T.c.id == task_id).with_for_update())
    if found is None:
        raise NotFound("task", task_id)


async def append(
    conn: AsyncConnection, ctx: StoreContext, task_id: str, items: Sequence[tuple[str, str]]
) -> list[TaskMessageRow]:
    for kind, _body in items:
        if kind not in MESSAGE_KINDS:
            raise InvalidValue(f"message kind must be one of {', '.join(MESSAGE_KINDS)}")
    await _lock_task(conn, task_id)
    if not items:
        return []
    last = await conn.scalar(
        select(func.coalesce(func.max(_M.c.seq), 0)).where(_M.c.task_id == task_id)
    )
    now = ctx.now()
    first = int(last or 0) + 1
    made = [
        TaskMessageRow(task_id=task_id, seq=seq, kind=kind, body=body, created_at=now)
        for seq, (kind, body) in enumerate(items, start=first)
    ]
    await conn.execute(
        _M.insert(),
        [
            {"task_id": m.task_id, "seq": m.seq, "kind": m.kind, "body": m.body, "created_at": now}
            for m in made
        ],
    )
    return made


async def list_messages(
    conn: AsyncConnection,
    workspace_id: str,
    task_id: str,
    *,
    after_seq: int = 0,
    limit: int | None = None,
) -> list[TaskMessageRow]:
    stmt = (
        select(_M)
        .join(_T, _T.c.id == _M.c.task_id)
        .where(_T.c.workspace_id == workspace_id, _M.c.task_id == task_id, _M.c.seq > after_seq)
        .order_by(_M.c.seq)
    )
    if limit is not None:
        if limit < 0:
            raise InvalidValue("limit must not be negative")
        stmt = stmt.limit(limit)
    return [message_row(m) for m in (await conn.execute(stmt)).mappings()]


async def count_messages(conn: AsyncConnection, workspace_id: str, task_id: str) -> int:
    stmt = (
        select(func.count())
        .select_from(_M)
        .join(_T, _T.c.id == _M.c.task_id)
        .where(_T.c.workspace_id == workspace_id, _M.c.task_id == task_id)
    )
    return int(await conn.scalar(stmt) or 0)


async def usage_set(conn: AsyncConnection, task_id: str, rows: Sequence[TaskUsageRow]) -> None:
    """Replace the task's usage rows (one per model)."""
    models = [r.model for r in rows]
    if len(set(models)) != len(models):
        raise InvalidValue("usage rows must name each model once")
    if any(r.task_id != task_id for r in rows):
        raise InvalidValue("usage rows must belong to the task they are set on")
    await _lock_task(conn, task_id)
    await conn.execute(delete(_U).where(_U.c.task_id == task_id))
    if rows:
        await conn.execute(
            _U.insert(),
            [
                {
                    "task_id": task_id,
                    "model": r.model,
                    "input_tokens": r.input_tokens,
                    "output_tokens": r.output_tokens,
                    "cache_read_tokens": r.cache_read_tokens,
                    "cache_creation_tokens": r.cache_creation_tokens,
                    "cost_usd": r.cost_usd,
                }
                for r in rows
            ],
        )


async def usage_list(conn: AsyncConnection, workspace_id: str, task_id: str) -> list[TaskUsageRow]:
    stmt = (
        select(_U)
        .join(_T, _T.c.id == _U.c.task_id)
        .where(_T.c.workspace_id == workspace_id, _U.c.task_id == task_id)
        .order_by(_U.c.model)
    )
    return [usage_row(m) for m in (await conn.execute(stmt)).mappings()]
