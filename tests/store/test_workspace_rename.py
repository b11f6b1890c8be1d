"""Renaming a workspace: a new slug (a taken one conflicts), the name when asked or when it was
the slug, the id and everything in the workspace kept."""

from __future__ import annotations

import pytest

from hangar.store import Conflict, InvalidValue, NotFound, Store


async def test_rename_changes_the_slug_and_keeps_the_id(store: Store) -> None:
    ws = await store.workspace_create("team", "team")
    renamed = await store.workspace_rename(ws.id, "crew")
    assert (renamed.id, renamed.slug, renamed.name) == (ws.id, "crew", "crew")
    assert await store.workspace_resolve("team") is None
    found = await store.workspace_resolve("crew")
    assert found is not None and found.id == ws.id


async def test_a_chosen_name_is_kept_unless_a_new_one_is_given(store: Store) -> None:
    ws = await store.workspace_create("team", "The Team")
    assert (await store.workspace_rename(ws.id, "crew")).name == "The Team"
    assert (await store.workspace_rename(ws.id, "crew", "  Crew  ")).name == "Crew"


async def test_the_default_stays_the_default_under_its_new_slug(store: Store) -> None:
    default = await store.workspace_default()
    renamed = await store.workspace_rename(default.id, "home")
    assert renamed.is_default
    assert (await store.workspace_default()).slug == "home"


async def test_a_taken_slug_conflicts_and_changes_nothing(store: Store) -> None:
    first = await store.workspace_create("first", "first")
    await store.workspace_create("second", "second")
    with pytest.raises(Conflict, match="second"):
        await store.workspace_rename(first.id, "second")
    assert (await store.workspace_resolve(first.id)) == first
    # its own slug is no conflict
    assert (await store.workspace_rename(first.id, "first")).slug == "first"


async def test_missing_workspace_and_empty_slug(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.workspace_rename("missing", "x")
    ws = await store.workspace_create("team", "team")
    with pytest.raises(InvalidValue):
        await store.workspace_rename(ws.id, "  ")
