"""Personal tokens in the store: only the digest is kept, listed newest first, revoked once,
``last_used`` only moves forward, and the scope is one of three."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from hangar.core import tokens
from hangar.core.clock import FixedClock
from hangar.store import Store

from .conftest import T0


async def _make(store: Store, name: str = "ci", scope: str = "read", **kw: int) -> tuple[str, str]:
    plaintext = tokens.mint_token(tokens.PAT_PREFIX)
    row = await store.tokens.create(
        name=name, scope=scope, digest=tokens.digest(plaintext), expires_at=kw.get("expires_at")
    )
    return row.id, plaintext


async def test_only_the_digest_is_stored_and_found_again(store: Store) -> None:
    token_id, plaintext = await _make(store, expires_at=T0 + 1000)
    found = await store.tokens.by_digest(tokens.digest(plaintext))
    assert found is not None
    row, stored = found
    assert (row.id, row.name, row.scope, row.created_at, row.expires_at) == (
        token_id,
        "ci",
        "read",
        T0,
        T0 + 1000,
    )
    assert row.last_used is None and row.revoked_at is None
    assert tokens.verify(plaintext, stored)
    async with store.engine.connect() as conn:
        everything = [tuple(r) for r in await conn.execute(text("SELECT * FROM pat"))]
    assert everything and all(plaintext not in str(v) for r in everything for v in r)
    assert await store.tokens.by_digest(tokens.digest(plaintext + "x")) is None


async def test_list_is_newest_first(store: Store, clock: FixedClock) -> None:
    first, _ = await _make(store, "one")
    clock.advance(1000)
    second, _ = await _make(store, "two", "admin")
    rows = await store.tokens.list()
    assert [(r.id, r.name, r.scope) for r in rows] == [
        (second, "two", "admin"),
        (first, "one", "read"),
    ]


async def test_revoke_stamps_once_and_unknown_is_none(store: Store, clock: FixedClock) -> None:
    token_id, _ = await _make(store)
    clock.advance(5)
    row = await store.tokens.revoke(token_id)
    assert row is not None and row.revoked_at == T0 + 5
    clock.advance(5)
    again = await store.tokens.revoke(token_id)
    assert again is not None and again.revoked_at == T0 + 5  # the first revocation stays
    assert await store.tokens.revoke("01NOPE") is None


async def test_last_used_only_moves_forward(store: Store) -> None:
    token_id, _ = await _make(store)
    await store.tokens.touch(token_id, T0 + 100)
    await store.tokens.touch(token_id, T0 + 50)  # a late writer does not move it back
    row = await store.tokens.get(token_id)
    assert row is not None and row.last_used == T0 + 100


async def test_the_scope_is_checked_by_the_database(store: Store) -> None:
    with pytest.raises(IntegrityError):
        await _make(store, scope="root")
    assert await store.tokens.list() == []
