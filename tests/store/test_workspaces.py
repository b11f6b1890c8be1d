"""Workspaces: create, resolve, and the idempotent, race-safe default bootstrap."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from hangar.core.clock import FixedClock
from hangar.core.ids import UlidGen
from hangar.store import Conflict, InvalidValue, NotFound, Store
from hangar.store.schema import member, setting, user


async def _count(store: Store, table: object) -> int:
    async with store.engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


async def test_create_and_resolve_by_slug_or_id(store: Store) -> None:
    ws = await store.workspace_create("acme", "Acme Corp")
    assert (ws.slug, ws.name, ws.is_default) == ("acme", "Acme Corp", False)
    assert await store.workspace_resolve("acme") == ws
    assert await store.workspace_resolve(ws.id) == ws
    assert await store.workspace_resolve("nope") is None
    assert await store.workspace_list() == [ws]


async def test_create_inserts_nothing_but_the_workspace(store: Store) -> None:
    await store.workspace_create("acme", "Acme")
    assert await _count(store, member) == 0
    assert await _count(store, user) == 0
    assert await _count(store, setting) == 0


async def test_duplicate_slug_is_a_conflict(store: Store) -> None:
    await store.workspace_create("acme", "Acme")
    with pytest.raises(Conflict):
        await store.workspace_create("acme", "Other")
    assert len(await store.workspace_list()) == 1


async def test_empty_slug_is_refused(store: Store) -> None:
    with pytest.raises(InvalidValue):
        await store.workspace_create("  ", "x")


async def test_default_bootstrap_is_idempotent(store: Store) -> None:
    first = await store.workspace_default()
    assert (first.slug, first.name, first.is_default) == ("default", "Default Workspace", True)
    again = await store.workspace_default()
    assert again == first
    assert await _count(store, member) == 1
    assert await _count(store, user) == 1
    owner = await store.workspace_owner_ref(first.id)
    assert owner.startswith("member:")
    assert [w.is_default for w in await store.workspace_list()] == [True]


async def test_default_adopts_an_existing_default_slug(store: Store) -> None:
    made = await store.workspace_create("default", "Mine")
    assert (await store.workspace_default()).id == made.id


async def test_concurrent_bootstraps_agree(migrated_url: str, clock: FixedClock) -> None:
    # Separate stores, separate connections: the race the daemon and a CLI could run.
    ids = UlidGen()
    stores = [await Store.open(migrated_url, clock=clock, ids=ids, migrate=False) for _ in range(5)]
    try:
        rows = await asyncio.gather(*(s.workspace_default() for s in stores))
        assert len({r.id for r in rows}) == 1
        assert await _count(stores[0], member) == 1
        assert await _count(stores[0], user) == 1
    finally:
        for s in stores:
            await s.close()


async def test_set_default_moves_the_flag(store: Store) -> None:
    default = await store.workspace_default()
    other = await store.workspace_create("other", "Other")
    moved = await store.workspace_set_default(other.id)
    assert moved.is_default
    flags = {w.slug: w.is_default for w in await store.workspace_list()}
    assert flags == {"default": False, "other": True}
    assert (await store.workspace_default()).id == other.id
    assert (await store.workspace_resolve(default.id)) is not None
    with pytest.raises(NotFound):
        await store.workspace_set_default("missing")


async def test_owner_ref_of_a_workspace_without_members_is_the_local_owner(store: Store) -> None:
    default = await store.workspace_default()
    other = await store.workspace_create("other", "Other")
    assert await store.workspace_owner_ref(other.id) == await store.workspace_owner_ref(default.id)
    with pytest.raises(NotFound):
        await store.workspace_owner_ref("missing")
