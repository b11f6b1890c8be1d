"""TTL sweeps with a FixedClock: every band, the batch cap, idempotent re-runs."""

from __future__ import annotations

from hangar.store import Store

from .conftest import T0, World, advance

HOUR = 3_600_000
NOW = T0 + 10 * HOUR  # the sweep runs here


async def _enqueue_at(world: World, at: int, agent_id: str, status: str = "queued") -> str:
    world.clock.set(at)
    task = await world.store.task_enqueue(world.ws.id, agent_id=agent_id)
    if status != "queued":
        await advance(world.store, world.ws.id, task.id, status)
    return task.id


async def _status(store: Store, ws: str, task_id: str) -> tuple[str, str | None]:
    row = await store.task_get(ws, task_id)
    assert row is not None
    return row.status, row.failure_reason


async def test_every_band(world: World) -> None:
    s, ws = world.store, world.ws.id
    world.clock.set(T0)
    gone_rt = await s.runtime_ensure(ws, "gone-daemon", "claude")  # never heard from again
    live = await s.agent_create(
        ws, name="live", runtime_id=world.runtime.id, max_concurrent_tasks=99
    )
    lost = await s.agent_create(ws, name="lost", runtime_id=gone_rt.id, max_concurrent_tasks=99)

    q_old = await _enqueue_at(world, NOW - 2 * HOUR - 1, live.id)
    q_at_ttl = await _enqueue_at(world, NOW - 2 * HOUR, live.id)
    r_alive = await _enqueue_at(world, T0, live.id, "running")
    r_dead = await _enqueue_at(world, T0, lost.id, "running")
    r_young = await _enqueue_at(world, NOW - HOUR, lost.id, "running")
    d_old = await _enqueue_at(world, NOW - 300_001, lost.id, "dispatched")
    d_at_ttl = await _enqueue_at(world, NOW - 300_000, lost.id, "dispatched")
    d_stale = await _enqueue_at(world, NOW - 90_001, lost.id, "dispatched")
    d_at_window = await _enqueue_at(world, NOW - 90_000, lost.id, "dispatched")
    d_fresh = await _enqueue_at(world, NOW - 1_000, lost.id, "dispatched")
    # a live daemon supervises its own dispatches (setup deadline); sweeping them would
    # requeue a task it is still provisioning and run it twice
    d_live_old = await _enqueue_at(world, NOW - 300_001, live.id, "dispatched")
    d_live_stale = await _enqueue_at(world, NOW - 90_001, live.id, "dispatched")
    world.clock.set(NOW - 10_000)
    await s.runtimes_heartbeat(world.runtime.daemon_id)  # the live runtime is alive
    world.clock.set(NOW)

    report = await s.sweep()
    assert report.as_dict() == {
        "queued_timed_out": 1,
        "dispatched_requeued": 2,
        "dispatched_timed_out": 1,
        "running_timed_out": 1,
        "cancelled": 0,
    }
    assert report.total == 5
    assert [t.id for t in report.queued_timed_out] == [q_old]
    assert [t.id for t in report.dispatched_timed_out] == [d_old]
    assert {t.id for t in report.dispatched_requeued} == {d_stale, d_at_ttl}
    assert [t.id for t in report.running_timed_out] == [r_dead]
    assert report.children == []
    for row in report.failed:
        assert (row.status, row.failure_reason, row.finished_at) == ("failed", "timeout", NOW)
    for row in report.dispatched_requeued:
        assert (row.status, row.dispatched_at, row.attempt) == ("queued", None, 1)
    for untouched, status in (
        (q_at_ttl, "queued"),
        (r_alive, "running"),
        (r_young, "running"),
        (d_at_window, "dispatched"),
        (d_fresh, "dispatched"),
        (d_live_old, "dispatched"),
        (d_live_stale, "dispatched"),
    ):
        assert await _status(s, ws, untouched) == (status, None)

    again = await s.sweep()
    assert again.total == 0


async def test_running_is_swept_once_its_runtime_goes_offline(world: World) -> None:
    s, _ws = world.store, world.ws.id
    task_id = await _enqueue_at(world, T0, world.agent.id, "running")
    world.clock.set(NOW)
    await s.runtimes_heartbeat(world.runtime.daemon_id)
    assert (await s.sweep()).total == 0  # long, but its runtime is alive: leave it
    await s.runtimes_mark_offline(world.runtime.daemon_id)
    report = await s.sweep()
    assert [t.id for t in report.running_timed_out] == [task_id]


async def test_swept_failures_reopen_their_issue(world: World) -> None:
    s, ws = world.store, world.ws.id
    world.clock.set(T0)
    issue, task = await s.issue_create(
        ws, title="x", creator=world.creator, assign_agent_id=world.agent.id
    )
    assert task is not None
    await advance(s, ws, task.id, "running")
    await s.runtimes_mark_offline(world.runtime.daemon_id)
    world.clock.set(NOW)
    assert (await s.sweep()).total == 1
    assert (await s.issue_get(ws, issue.id)).state == "open"  # type: ignore[union-attr]


async def test_batch_cap_takes_the_oldest_first(world: World) -> None:
    s, ws = world.store, world.ws.id
    agent = await s.agent_create(ws, name="many", runtime_id=world.runtime.id)
    made = [await _enqueue_at(world, T0 + n, agent.id) for n in range(5)]
    world.clock.set(NOW)
    swept = []
    for expected in (2, 2, 1, 0):
        report = await s.sweep(batch=2)
        assert report.total == expected
        swept += [t.id for t in report.queued_timed_out]
    assert swept == made


async def test_every_swept_row_says_why_it_ended(world: World) -> None:
    s, ws = world.store, world.ws.id
    world.clock.set(T0)
    gone_rt = await s.runtime_ensure(ws, "gone-daemon", "claude")
    lost = await s.agent_create(ws, name="lost", runtime_id=gone_rt.id, max_concurrent_tasks=99)
    queued = await _enqueue_at(world, NOW - 3 * HOUR, world.agent.id)
    dispatched = await _enqueue_at(world, T0, lost.id, "dispatched")
    running = await _enqueue_at(world, T0, lost.id, "running")
    world.clock.set(NOW)
    report = await s.sweep()
    assert report.total == 3
    for task_id, why in (
        (queued, "in the queue"),
        (dispatched, "went away before starting it"),
        (running, "went away and the run outlived"),
    ):
        row = await s.task_get(ws, task_id)
        assert row is not None and row.result is not None, task_id
        assert why in row.result["error"], row.result
