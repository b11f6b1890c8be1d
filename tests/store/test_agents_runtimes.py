"""Runtimes (upsert + heartbeat) and agents (config, owner, unique names)."""

from __future__ import annotations

import pytest

from hangar.core.clock import FixedClock
from hangar.store import Conflict, InvalidValue, NotFound, Store


async def test_runtime_ensure_is_an_upsert(store: Store, clock: FixedClock) -> None:
    ws = await store.workspace_create("acme", "Acme")
    first = await store.runtime_ensure(ws.id, "d1", "claude")
    assert (first.status, first.runtime_mode, first.last_seen_at) == (
        "online",
        "local",
        clock.now_ms(),
    )
    await store.runtimes_mark_offline("d1")
    clock.advance(5_000)
    again = await store.runtime_ensure(ws.id, "d1", "claude")
    assert again.id == first.id
    assert (again.status, again.last_seen_at) == ("online", clock.now_ms())
    other = await store.runtime_ensure(ws.id, "d1", "codex")
    assert other.id != first.id
    assert [r.provider for r in await store.runtimes_list(ws.id)] == ["claude", "codex"]


async def test_runtime_ensure_needs_a_real_workspace(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.runtime_ensure("missing", "d1", "claude")


async def test_heartbeat_and_offline_touch_every_row_of_the_daemon(
    store: Store, clock: FixedClock
) -> None:
    a = await store.workspace_create("a", "A")
    b = await store.workspace_create("b", "B")
    await store.runtime_ensure(a.id, "d1", "claude")
    await store.runtime_ensure(b.id, "d1", "claude")
    await store.runtime_ensure(b.id, "d2", "claude")
    assert await store.runtimes_mark_offline("d1") == 2
    assert {r.status for r in await store.runtimes_for_daemon("d1")} == {"offline"}
    clock.advance(1_000)
    assert await store.runtimes_heartbeat("d1") == 2
    mine = await store.runtimes_for_daemon("d1")
    assert {(r.status, r.last_seen_at) for r in mine} == {("online", clock.now_ms())}
    assert [r.daemon_id for r in await store.runtimes_list(b.id)] == ["d1", "d2"]


async def test_agent_create_get_list(store: Store, clock: FixedClock) -> None:
    default = await store.workspace_default()
    rt = await store.runtime_ensure(default.id, "d1", "claude")
    agent = await store.agent_create(
        default.id,
        name="coder",
        provider="claude",
        runtime_id=rt.id,
        command=["claude", "-p"],
        model="opus",
        instructions="be brief",
        max_concurrent_tasks=3,
        repo_path="/src/app",
        max_runtime_ms=60_000,
        inactivity_timeout_ms=5_000,
    )
    assert agent.command == ["claude", "-p"]
    assert (agent.provider, agent.model, agent.max_concurrent_tasks) == ("claude", "opus", 3)
    assert (agent.visibility, agent.created_at) == ("workspace", clock.now_ms())
    assert f"member:{agent.owner_id}" == await store.workspace_owner_ref(default.id)
    assert await store.agent_get(default.id, agent.id) == agent
    assert await store.agent_get(default.id, "coder") == agent
    assert await store.agent_get(default.id, "nobody") is None
    plain = await store.agent_create(default.id, name="another", runtime_id=rt.id)
    assert (plain.provider, plain.command, plain.instructions) == ("command", None, "")
    assert [a.name for a in await store.agent_list(default.id)] == ["another", "coder"]


async def test_agent_names_are_unique_per_workspace(store: Store) -> None:
    a = await store.workspace_create("a", "A")
    b = await store.workspace_create("b", "B")
    rt_a = await store.runtime_ensure(a.id, "d1", "claude")
    rt_b = await store.runtime_ensure(b.id, "d1", "claude")
    await store.agent_create(a.id, name="bot", runtime_id=rt_a.id)
    with pytest.raises(Conflict):
        await store.agent_create(a.id, name="bot", runtime_id=rt_a.id)
    await store.agent_create(b.id, name="bot", runtime_id=rt_b.id)  # another tenant: fine


async def test_agent_refuses_bad_config(store: Store) -> None:
    ws = await store.workspace_create("a", "A")
    other = await store.workspace_create("b", "B")
    rt = await store.runtime_ensure(ws.id, "d1", "claude")
    foreign = await store.runtime_ensure(other.id, "d1", "claude")
    with pytest.raises(NotFound):
        await store.agent_create(ws.id, name="x", runtime_id=foreign.id)
    with pytest.raises(InvalidValue):
        await store.agent_create(ws.id, name="x", runtime_id=rt.id, max_concurrent_tasks=0)
    with pytest.raises(InvalidValue):
        await store.agent_create(ws.id, name=" ", runtime_id=rt.id)
    assert await store.agent_list(ws.id) == []
