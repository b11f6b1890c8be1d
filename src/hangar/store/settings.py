"""Daemon-wide key/value settings and the socket token digest (single row, id = 1)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.store.context import StoreContext
from hangar.store.dml import upsert
from hangar.store.schema import daemon_socket_token, setting

DEFAULT_WORKSPACE_KEY = "default_workspace_id"


async def get(conn: AsyncConnection, key: str) -> str | None:
    value = await conn.scalar(select(setting.c.value).where(setting.c.key == key))
    return None if value is None else str(value)


async def put(conn: AsyncConnection, key: str, value: str) -> None:
    stmt = upsert(conn, setting).values(key=key, value=value)
    await conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


async def put_if_absent(conn: AsyncConnection, key: str, value: str) -> str:
    """Set ``key`` unless some writer got there first; return whichever value won."""
    stmt = upsert(conn, setting).values(key=key, value=value).on_conflict_do_nothing()
    await conn.execute(stmt)
    won = await get(conn, key)
    assert won is not None
    return won


async def socket_token_digest(conn: AsyncConnection) -> str | None:
    value = await conn.scalar(
        select(daemon_socket_token.c.sha256_token).where(daemon_socket_token.c.id == 1)
    )
    return None if value is None else str(value)


async def socket_token_set(conn: AsyncConnection, ctx: StoreContext, digest: str) -> None:
    now = ctx.now()
    stmt = upsert(conn, daemon_socket_token).values(id=1, sha256_token=digest, created_at=now)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["id"], set_={"sha256_token": digest, "created_at": now}
        )
    )
