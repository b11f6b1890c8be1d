"""Personal tokens (``pat``): only the SHA-256 of a token is stored, never its plaintext
(docs/wire-protocol.md#tokens). Tokens are the local user's, not a workspace's.

``TokenStore`` is the facade's ``store.tokens``: each of its calls is one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from sqlalchemy import RowMapping, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.proto.auth import TokenRow
from hangar.store import workspaces
from hangar.store.context import StoreContext
from hangar.store.schema import pat

__all__ = ["TokenStore", "by_digest", "create", "get", "list_all", "revoke", "touch"]

Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection]]

_ROW_COLUMNS = (
    pat.c.id,
    pat.c.name,
    pat.c.scope,
    pat.c.created_at,
    pat.c.last_used,
    pat.c.expires_at,
    pat.c.revoked_at,
)


def _row(r: RowMapping) -> TokenRow:
    return TokenRow(
        id=r["id"],
        name=r["name"],
        scope=r["scope"],
        created_at=r["created_at"],
        last_used=r["last_used"],
        expires_at=r["expires_at"],
        revoked_at=r["revoked_at"],
    )


async def create(
    conn: AsyncConnection,
    ctx: StoreContext,
    *,
    name: str,
    scope: str,
    digest: str,
    expires_at: int | None,
    created_at: int | None = None,
) -> TokenRow:
    """``created_at``: the moment the caller measured ``expires_at`` from (default: now)."""
    now = ctx.now() if created_at is None else created_at
    owner = await workspaces.local_owner_id(conn, ctx)
    token_id = ctx.new_id(now)
    await conn.execute(
        insert(pat).values(
            id=token_id,
            user_id=owner,
            sha256_token=digest,
            scope=scope,
            name=name,
            created_at=now,
            expires_at=expires_at,
        )
    )
    row = await get(conn, token_id)
    assert row is not None
    return row


async def list_all(conn: AsyncConnection) -> list[TokenRow]:
    rows = await conn.execute(
        select(*_ROW_COLUMNS).order_by(pat.c.created_at.desc(), pat.c.id.desc())
    )
    return [_row(r) for r in rows.mappings()]


async def get(conn: AsyncConnection, token_id: str) -> TokenRow | None:
    r = (await conn.execute(select(*_ROW_COLUMNS).where(pat.c.id == token_id))).mappings().first()
    return None if r is None else _row(r)


async def by_digest(conn: AsyncConnection, digest: str) -> tuple[TokenRow, str] | None:
    """The token whose stored digest is ``digest``, with that stored digest (the caller
    compares the two in constant time)."""
    stmt = select(*_ROW_COLUMNS, pat.c.sha256_token).where(pat.c.sha256_token == digest)
    r = (await conn.execute(stmt)).mappings().first()
    return None if r is None else (_row(r), str(r["sha256_token"]))


async def revoke(conn: AsyncConnection, ctx: StoreContext, token_id: str) -> TokenRow | None:
    """Stamp ``revoked_at`` (the first revocation's time stays); None when no such token."""
    await conn.execute(
        update(pat)
        .where(pat.c.id == token_id, pat.c.revoked_at.is_(None))
        .values(revoked_at=ctx.now())
    )
    return await get(conn, token_id)


async def touch(conn: AsyncConnection, token_id: str, at_ms: int) -> None:
    """``last_used`` moves forward only."""
    await conn.execute(
        update(pat)
        .where(pat.c.id == token_id, or_(pat.c.last_used.is_(None), pat.c.last_used < at_ms))
        .values(last_used=at_ms)
    )


class TokenStore:
    """``Store.tokens``: each call one read or one write transaction."""

    def __init__(self, read: Connect, write: Connect, ctx: StoreContext) -> None:
        self._read = read
        self._write = write
        self._ctx = ctx

    async def create(
        self,
        *,
        name: str,
        scope: str,
        digest: str,
        expires_at: int | None,
        created_at: int | None = None,
    ) -> TokenRow:
        async with self._write() as conn:
            return await create(
                conn,
                self._ctx,
                name=name,
                scope=scope,
                digest=digest,
                expires_at=expires_at,
                created_at=created_at,
            )

    async def list(self) -> list[TokenRow]:
        async with self._read() as conn:
            return await list_all(conn)

    async def get(self, token_id: str) -> TokenRow | None:
        async with self._read() as conn:
            return await get(conn, token_id)

    async def by_digest(self, digest: str) -> tuple[TokenRow, str] | None:
        async with self._read() as conn:
            return await by_digest(conn, digest)

    async def revoke(self, token_id: str) -> TokenRow | None:
        async with self._write() as conn:
            return await revoke(conn, self._ctx, token_id)

    async def touch(self, token_id: str, at_ms: int) -> None:
        async with self._write() as conn:
            await touch(conn, token_id, at_ms)
