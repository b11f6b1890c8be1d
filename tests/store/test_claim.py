"""Claim: one statement, best task first, per-agent cap on dispatched + running."""

from __future__ import annotations

from .conftest import World, advance


async def test_empty_queue_returns_none(world: World) -> None:
    assert await world.store.task_claim([world.runtime.id]) is None
    assert await world.store.task_claim([]) is None


async def test_claim_order_is_priority_then_age(world: World) -> None:
    s, ws = world.store, world.ws.id
    agent = await s.agent_create(
        ws, name="wide", runtime_id=world.runtime.id, max_concurrent_tasks=10
    )
    old_low = await s.task_enqueue(ws, agent_id=agent.id, priority=0)
    world.clock.advance(1)
    old_high = await s.task_enqueue(ws, agent_id=agent.id, priority=2)
    world.clock.advance(1)
    new_high = await s.task_enqueue(ws, agent_id=agent.id, priority=2)
    world.clock.advance(1)
    top = await s.task_enqueue(ws, agent_id=agent.id, priority=3)
    order = [await s.task_claim([world.runtime.id]) for _ in range(5)]
    assert [t.id if t else None for t in order] == [
        top.id,
        old_high.id,
        new_high.id,
        old_low.id,
        None,
    ]
    first = order[0]
    assert first is not None
    assert (first.status, first.dispatched_at) == ("dispatched", world.clock.now_ms())


async def test_same_millisecond_ties_break_on_id(world: World) -> None:
    s, ws = world.store, world.ws.id
    agent = await s.agent_create(
        ws, name="wide", runtime_id=world.runtime.id, max_concurrent_tasks=5
    )
    made = [await s.task_enqueue(ws, agent_id=agent.id) for _ in range(3)]
    claimed = [await s.task_claim([world.runtime.id]) for _ in range(3)]
    assert [t.id for t in claimed if t] == [t.id for t in made]


async def test_only_the_given_runtimes_are_claimed(world: World) -> None:
    s, ws = world.store, world.ws.id
    other_rt = await s.runtime_ensure(ws, "elsewhere", "claude")
    other = await s.agent_create(ws, name="far", runtime_id=other_rt.id)
    await s.task_enqueue(ws, agent_id=other.id)
    assert await s.task_claim([world.runtime.id]) is None
    assert await s.task_pending_count([world.runtime.id]) == 0
    assert await s.task_pending_count([other_rt.id]) == 1
    claimed = await s.task_claim([world.runtime.id, other_rt.id])
    assert claimed is not None and claimed.runtime_id == other_rt.id


async def test_cap_counts_dispatched_and_running(world: World) -> None:
    s, ws = world.store, world.ws.id
    agent = await s.agent_create(
        ws, name="two", runtime_id=world.runtime.id, max_concurrent_tasks=2
    )
    tasks = [await s.task_enqueue(ws, agent_id=agent.id) for _ in range(4)]
    first = await s.task_claim([world.runtime.id])
    assert first is not None
    assert (await s.task_start(first.id, work_dir="/w")).ok  # running holds a slot
    second = await s.task_claim([world.runtime.id])  # dispatched holds the other
    assert second is not None
    assert await s.task_claim([world.runtime.id]) is None
    assert sorted(await s.task_active_ids([world.runtime.id])) == sorted([first.id, second.id])
    assert await s.task_pending_count([world.runtime.id]) == 3  # 2 queued + 1 dispatched
    await s.task_complete(first.id, result={"content": "ok"}, session_id=None)
    third = await s.task_claim([world.runtime.id])
    assert third is not None and third.id == tasks[2].id


async def test_cap_is_per_agent(world: World) -> None:
    s, ws = world.store, world.ws.id
    other = await s.agent_create(ws, name="other", runtime_id=world.runtime.id)
    await s.task_enqueue(ws, agent_id=world.agent.id)
    await s.task_enqueue(ws, agent_id=world.agent.id)
    world.clock.advance(1)
    theirs = await s.task_enqueue(ws, agent_id=other.id)
    assert await s.task_claim([world.runtime.id]) is not None
    # world.agent is at its cap of 1; the younger task of the other agent goes next.
    claimed = await s.task_claim([world.runtime.id])
    assert claimed is not None and claimed.id == theirs.id


async def test_a_running_issue_agent_pair_is_not_claimed_twice(world: World) -> None:
    s, ws = world.store, world.ws.id
    agent = await s.agent_create(
        ws, name="wide", runtime_id=world.runtime.id, max_concurrent_tasks=5
    )
    issue, first = await s.issue_create(
        ws, title="x", creator=world.creator, assign_agent_id=agent.id
    )
    assert first is not None
    await advance(s, ws, first.id, "running")
    follow_up = await s.task_enqueue(ws, agent_id=agent.id, issue_id=issue.id)
    assert await s.task_claim([world.runtime.id]) is None  # same worktree would collide
    await s.task_complete(first.id, result={}, session_id=None)
    claimed = await s.task_claim([world.runtime.id])
    assert claimed is not None and claimed.id == follow_up.id


async def test_status_counts_are_per_workspace_and_cover_every_status(world: World) -> None:
    s, ws = world.store, world.ws.id
    agent = await s.agent_create(
        ws, name="counted", runtime_id=world.runtime.id, max_concurrent_tasks=9
    )
    made = [await s.task_enqueue(ws, agent_id=agent.id) for _ in range(4)]
    await advance(s, ws, made[0].id, "running")
    await advance(s, ws, made[1].id, "dispatched")
    await s.task_cancel(ws, made[2].id)
    counts = await s.task_status_counts(ws)
    assert counts == {
        "queued": 1,
        "dispatched": 1,
        "running": 1,
        "done": 0,
        "failed": 0,
        "cancelled": 1,
    }
    other = await s.workspace_create("elsewhere", "Elsewhere")
    assert set((await s.task_status_counts(other.id)).values()) == {0}
