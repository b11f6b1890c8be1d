"""Interactive session rows: unique names per workspace, lookups, scoping, idle state."""

from __future__ import annotations

from typing import Any

import pytest

from hangar.core.clock import FixedClock
from hangar.store import Conflict, InvalidValue, NotFound, Store


def _fields(name: str, **over: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": name,
        "repo_path": "/repo",
        "worktree_path": f"/worktrees/{name}",
        "branch": name,
        "base_branch": "main",
        "tmux_session": f"harness-{name}",
        "command": ["claude", "--session-id", "u-1"],
        "agent_session_id": "u-1",
        "meta": {"ticket": "T-1"},
        "idle_threshold_ms": 5000,
    }
    fields.update(over)
    return fields


async def test_create_round_trips_every_field(store: Store, clock: FixedClock) -> None:
    ws = await store.workspace_create("acme", "Acme")
    row = await store.session_create(ws.id, **_fields("feat-a"))
    assert (row.status, row.name, row.branch, row.base_branch) == (
        "active",
        "feat-a",
        "feat-a",
        "main",
    )
    assert row.command == ["claude", "--session-id", "u-1"]
    assert row.meta == {"ticket": "T-1"}
    assert row.created_at == row.updated_at == clock.now_ms()
    assert await store.session_get(ws.id, row.id) == row
    assert await store.session_screen(ws.id, row.id) == (None, clock.now_ms())
    assert row.agent is None  # not said: the daemon judges by the command and the screen


async def test_the_agent_a_session_runs_is_kept(store: Store) -> None:
    ws = await store.workspace_create("acme", "Acme")
    wrapped = _fields("wrapped", command=["env", "FOO=1", "claude"])
    row = await store.session_create(ws.id, agent="claude", **wrapped)
    assert row.agent == "claude"
    assert (await store.session_get(ws.id, "wrapped")) == row
    listed = await store.session_list(ws.id)
    assert [s.agent for s in listed] == ["claude"]


async def test_names_are_unique_per_workspace_tmux_names_and_paths_everywhere(
    store: Store,
) -> None:
    a = await store.workspace_create("a", "A")
    b = await store.workspace_create("b", "B")
    first = await store.session_create(a.id, **_fields("same"))
    with pytest.raises(Conflict, match="already taken"):
        await store.session_create(
            a.id, **_fields("same", tmux_session="t-2", worktree_path="/w/2")
        )
    # another workspace may reuse the name, but never the tmux session or the worktree
    for clash in ({"worktree_path": "/w/3"}, {"tmux_session": "t-3"}):
        with pytest.raises(Conflict):
            await store.session_create(b.id, **_fields("same", **clash))
    assert await store.session_holder(tmux_session="harness-same", worktree_path="/x") == first
    assert await store.session_holder(tmux_session="nope", worktree_path="/nope") is None
    other = await store.session_create(
        b.id, **_fields("same", tmux_session="t-4", worktree_path="/w/4")
    )
    assert other.name == first.name


async def test_lookup_by_id_name_or_short_id_and_never_across_workspaces(store: Store) -> None:
    a = await store.workspace_create("a", "A")
    b = await store.workspace_create("b", "B")
    row = await store.session_create(a.id, **_fields("feat-a"))
    assert (await store.session_get(a.id, "feat-a")) == row
    assert (await store.session_get(a.id, row.id[-8:].lower())) == row
    assert await store.session_get(b.id, row.id) is None
    assert await store.session_get(b.id, "feat-a") is None
    assert await store.session_get(a.id, "nope") is None


async def test_list_hides_archived_and_orphaned_unless_asked(store: Store) -> None:
    ws = await store.workspace_create("acme", "Acme")
    live = await store.session_create(ws.id, **_fields("live"))
    gone = await store.session_create(ws.id, **_fields("gone"))
    old = await store.session_create(ws.id, **_fields("old"))
    await store.session_create(ws.id, status="creating", **_fields("new"))
    await store.session_create(ws.id, **_fields("far", repo_path="/elsewhere"))
    await store.session_patch(ws.id, gone.id, status="orphaned")
    await store.session_patch(ws.id, old.id, status="archived", archived_at=1)
    assert [s.name for s in await store.session_list(ws.id, repo_path="/repo")] == ["live"]
    every = await store.session_list(ws.id, include_archived=True)
    assert {s.name: s.status for s in every} == {
        "live": "active",
        "gone": "orphaned",
        "old": "archived",
        "new": "creating",
        "far": "active",
    }
    # the cap counts a repository's active sessions and the ones being created
    assert await store.session_count_live(ws.id, "/repo") == 2
    assert await store.session_count_live(ws.id, "/elsewhere") == 1
    active = await store.session_list_in_status("active")
    assert sorted(s.name for s in active) == ["far", "live"]
    assert live.id in {s.id for s in active}
    assert await store.session_tmux_names() == {
        "harness-live", "harness-gone", "harness-new", "harness-far",
    }  # fmt: skip


async def test_conditional_status_change_never_overwrites_a_newer_state(store: Store) -> None:
    ws = await store.workspace_create("acme", "Acme")
    row = await store.session_create(ws.id, **_fields("x"))
    await store.session_patch(ws.id, row.id, status="archived")
    assert not await store.session_set_status_if(row.id, expected="active", status="orphaned")
    assert (await store.session_get(ws.id, row.id)).status == "archived"
    assert await store.session_set_status_if(row.id, expected="archived", status="active")
    assert not await store.session_set_status_if("missing", expected="active", status="orphaned")


async def test_patch_checks_status_and_scope(store: Store, clock: FixedClock) -> None:
    a = await store.workspace_create("a", "A")
    b = await store.workspace_create("b", "B")
    row = await store.session_create(a.id, **_fields("x"))
    with pytest.raises(InvalidValue):
        await store.session_patch(a.id, row.id, status="exploded")
    with pytest.raises(NotFound):
        await store.session_patch(b.id, row.id, status="orphaned")
    clock.advance(10)
    patched = await store.session_patch(a.id, row.id, command=["claude", "--resume", "u-1"])
    assert patched.command == ["claude", "--resume", "u-1"]
    assert patched.updated_at == row.updated_at + 10


async def test_screen_state_and_delete(store: Store) -> None:
    ws = await store.workspace_create("acme", "Acme")
    row = await store.session_create(ws.id, **_fields("x"))
    await store.session_record_screen(row.id, last_hash="abc", last_changed_at=42)
    assert await store.session_screen(ws.id, row.id) == ("abc", 42)
    other = await store.workspace_create("other", "Other")
    with pytest.raises(NotFound):
        await store.session_delete(other.id, row.id)
    await store.session_delete(ws.id, row.id)
    assert await store.session_get(ws.id, row.id) is None
