"""Agent runtimes: one row per (workspace, daemon, provider), kept alive by heartbeats."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.proto.rows import RuntimeRow
from hangar.store import workspaces
from hangar.store.context import StoreContext
from hangar.store.convert import runtime_row
from hangar.store.dml import upsert
from hangar.store.schema import agent_runtime

ONLINE = "online"
OFFLINE = "offline"
_R = agent_runtime


async def ensure(
    conn: AsyncConnection, ctx: StoreContext, workspace_id: str, daemon_id: str, provider: str
) -> RuntimeRow:
    await workspaces.require(conn, workspace_id)
    now = ctx.now()
    stmt = upsert(conn, _R).values(
        id=ctx.new_id(now),
        workspace_id=workspace_id,
        daemon_id=daemon_id,
        provider=provider,
        runtime_mode="local",
        last_seen_at=now,
        status=ONLINE,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["workspace_id", "daemon_id", "provider"],
        set_={"status": ONLINE, "last_seen_at": now},
    )
    result = await conn.execute(stmt.returning(*_R.c))
    return runtime_row(result.mappings().one())


async def heartbeat(conn: AsyncConnection, ctx: StoreContext, daemon_id: str) -> int:
    stmt = (
        update(_R).where(_R.c.daemon_id == daemon_id).values(status=ONLINE, last_seen_at=ctx.now())
    )
    return (await conn.execute(stmt)).rowcount


async def mark_offline(conn: AsyncConnection, daemon_id: str) -> int:
    stmt = update(_R).where(_R.c.daemon_id == daemon_id).values(status=OFFLINE)
    return (await conn.execute(stmt)).rowcount


async def for_daemon(conn: AsyncConnection, daemon_id: str) -> list[RuntimeRow]:
    result = await conn.execute(
        select(_R).where(_R.c.daemon_id == daemon_id).order_by(_R.c.workspace_id, _R.c.provider)
    )
    return [runtime_row(m) for m in result.mappings()]


async def list_for_workspace(conn: AsyncConnection, workspace_id: str) -> list[RuntimeRow]:
    result = await conn.execute(
        select(_R).where(_R.c.workspace_id == workspace_id).order_by(_R.c.provider, _R.c.id)
    )
    return [runtime_row(m) for m in result.mappings()]


async def get(conn: AsyncConnection, workspace_id: str, runtime_id: str) -> RuntimeRow | None:
    result = await conn.execute(
        select(_R).where(_R.c.id == runtime_id, _R.c.workspace_id == workspace_id)
    )
    found = result.mappings().first()
    return None if found is None else runtime_row(found)
