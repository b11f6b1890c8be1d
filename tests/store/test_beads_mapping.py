"""``beads_mapping`` in the store, on both backends: one pair per side, ``last_synced``
moves, swarm rows are never listed for syncing, issues are found by id across workspaces."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from hangar.store import Conflict, Store

from .conftest import World, make_world


async def test_a_pair_is_written_found_touched_and_deleted(world: World) -> None:
    store = world.store
    issue, _ = await store.issue_create(world.ws.id, title="mirrored", creator=world.creator)
    row = await store.beads.insert(issue.id, "bd-1", "2026-01-01T00:00:01Z")
    assert (row.hangar_id, row.bd_id, row.source, row.hangar_kind, row.bd_kind) == (
        issue.id, "bd-1", "hangar", "issue", "issue",
    )  # fmt: skip
    assert await store.beads.get(issue.id) == row
    assert await store.beads.by_bd("bd-1") == row
    assert await store.beads.list() == [row]

    assert await store.beads.touch(issue.id, "2026-01-01T00:00:09Z")
    assert (await store.beads.get(issue.id)).last_synced == "2026-01-01T00:00:09Z"  # type: ignore[union-attr]
    assert not await store.beads.touch("nope", "2026-01-01T00:00:09Z")

    assert await store.beads.delete(issue.id)
    assert await store.beads.get(issue.id) is None and await store.beads.list() == []
    assert not await store.beads.delete(issue.id)


async def test_each_side_is_mapped_once(world: World) -> None:
    store = world.store
    await store.beads.insert("i-1", "bd-1", "2026-01-01T00:00:01Z")
    for hangar_id, bd_id in (("i-1", "bd-2"), ("i-2", "bd-1")):
        with pytest.raises(Conflict, match="mapped already"):
            await store.beads.insert(hangar_id, bd_id, "2026-01-01T00:00:01Z")
    assert [m.bd_id for m in await store.beads.list()] == ["bd-1"]  # nothing half-written


async def test_swarm_pairs_are_never_listed_for_syncing(store: Store, world: World) -> None:
    await store.beads.insert("i-1", "bd-1", "2026-01-01T00:00:01Z")
    async with store.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO beads_mapping (hangar_id, bd_id, hangar_kind, bd_kind, source, "
                "last_synced) VALUES ('i-2', 'bd-2', 'task', 'task', 'swarm', "
                "'2026-01-01T00:00:01Z')"
            )
        )
    assert [m.hangar_id for m in await store.beads.list()] == ["i-1"]
    swarm = await store.beads.by_bd("bd-2")
    assert swarm is not None and swarm.source == "swarm"  # still found, to be left alone


async def test_issues_are_found_by_id_in_any_workspace(store: Store, world: World) -> None:
    other = await make_world(store, world.clock, "other")
    mine, _ = await store.issue_create(world.ws.id, title="mine", creator=world.creator)
    theirs, _ = await store.issue_create(other.ws.id, title="theirs", creator=other.creator)
    found = await store.beads.issues([mine.id, theirs.id, "missing", mine.id])
    assert found == {mine.id: mine, theirs.id: theirs}
    assert await store.beads.issue("missing") is None
