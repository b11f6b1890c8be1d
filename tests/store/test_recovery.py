"""Boot-time recovery: dispatched rows go back to the queue, running rows fail and retry."""

from __future__ import annotations

from hangar.core.failures import FailureReason

from .conftest import World, advance


async def test_recover_runtimes(world: World) -> None:
    s, ws = world.store, world.ws.id
    agent = await s.agent_create(ws, name="w", runtime_id=world.runtime.id, max_concurrent_tasks=9)
    other_rt = await s.runtime_ensure(ws, "other-daemon", "claude")
    other_agent = await s.agent_create(ws, name="o", runtime_id=other_rt.id)

    dispatched = await s.task_enqueue(ws, agent_id=agent.id)
    await advance(s, ws, dispatched.id, "dispatched")
    running = await s.task_enqueue(ws, agent_id=agent.id)
    await advance(s, ws, running.id, "dispatched")
    await s.task_start(running.id, work_dir="/w/run")
    last_try = await s.task_enqueue(ws, agent_id=agent.id, max_attempts=1)
    await advance(s, ws, last_try.id, "running")
    queued = await s.task_enqueue(ws, agent_id=agent.id)
    foreign = await s.task_enqueue(ws, agent_id=other_agent.id)
    await advance(s, ws, foreign.id, "running")

    report = await s.recover_runtimes([world.runtime.id])
    assert [t.id for t in report.requeued] == [dispatched.id]
    assert report.requeued[0].dispatched_at is None
    assert {t.id for t in report.failed} == {running.id, last_try.id}
    by_id = {t.id: t for t in report.failed}
    assert by_id[running.id].work_dir == "/w/run"
    assert {t.failure_reason for t in report.failed} == {FailureReason.RUNTIME_RECOVERY.value}
    assert [(c.parent_task_id, c.attempt, c.work_dir) for c in report.children] == [
        (running.id, 2, "/w/run")
    ]
    assert (await s.task_get(ws, queued.id)).status == "queued"  # type: ignore[union-attr]
    assert (await s.task_get(ws, foreign.id)).status == "running"  # type: ignore[union-attr]

    again = await s.recover_runtimes([world.runtime.id])
    assert (again.requeued, again.failed, again.children) == ([], [], [])
    empty = await s.recover_runtimes([])
    assert empty.failed == []
