"""Idempotent finalize (docs/lifecycle.md#finalize): conditional UPDATE, re-read, classify."""

from __future__ import annotations

import asyncio

import pytest

from hangar.core.clock import FixedClock
from hangar.core.failures import FailureReason
from hangar.core.fsm import FinalizeKind, TaskStatus, UnknownState
from hangar.core.ids import UlidGen
from hangar.store import Store

from .conftest import World, advance

K = FinalizeKind


async def _issue_task(world: World) -> tuple[str, str]:
    issue, task = await world.store.issue_create(
        world.ws.id, title="x", creator=world.creator, assign_agent_id=world.agent.id
    )
    assert task is not None
    return issue.id, task.id


async def test_happy_path_and_issue_state(world: World) -> None:
    s, ws = world.store, world.ws.id
    issue_id, task_id = await _issue_task(world)
    claimed = await s.task_claim([world.runtime.id])
    assert claimed is not None and claimed.id == task_id

    world.clock.advance(10)
    started = await s.task_start(task_id, work_dir="/w/1")
    assert (started.kind, started.found, started.target) == (
        K.TRANSITIONED,
        "dispatched",
        "running",
    )
    assert (await s.issue_get(ws, issue_id)).state == "in_progress"  # type: ignore[union-attr]
    again = await s.task_start(task_id, work_dir="/w/other")
    assert again.kind is K.ALREADY_STARTED and again.ok and not again.wrote

    world.clock.advance(10)
    done = await s.task_complete(task_id, result={"content": "ok"}, session_id="sess-1")
    assert done.kind is K.TRANSITIONED
    row = await s.task_get(ws, task_id)
    assert row is not None
    assert (row.status, row.result, row.session_id, row.work_dir) == (
        "done",
        {"content": "ok"},
        "sess-1",
        "/w/1",
    )
    assert (row.started_at, row.finished_at) == (world.clock.now_ms() - 10, world.clock.now_ms())
    assert (await s.issue_get(ws, issue_id)).state == "done"  # type: ignore[union-attr]

    twice = await s.task_complete(task_id, result={"content": "late"}, session_id=None)
    assert (twice.kind, twice.ok, twice.wrote) == (K.ALREADY_TERMINAL, True, False)
    assert await s.task_get(ws, task_id) == row


async def test_cancel_after_done_is_a_terminal_mismatch_and_changes_nothing(world: World) -> None:
    s, ws = world.store, world.ws.id
    issue_id, task_id = await _issue_task(world)
    await advance(s, ws, task_id, "running")
    await s.task_complete(task_id, result={"content": "ok"}, session_id=None)
    before = await s.task_get(ws, task_id)
    issue_before = await s.issue_get(ws, issue_id)
    world.clock.advance(1_000)
    for outcome in (
        await s.task_cancel(ws, task_id),
        await s.task_fail(task_id, reason=FailureReason.RUNTIME_OFFLINE),
        await s.task_transition(ws, task_id, "failed"),
    ):
        assert (outcome.kind, outcome.found, outcome.ok) == (K.TERMINAL_MISMATCH, "done", False)
    assert await s.task_get(ws, task_id) == before
    assert await s.issue_get(ws, issue_id) == issue_before
    assert len(await s.task_list(ws)) == 1  # no retry child from the refused fail


async def test_illegal_states_and_missing_rows(world: World) -> None:
    s, ws = world.store, world.ws.id
    _, task_id = await _issue_task(world)
    early = await s.task_complete(task_id, result={}, session_id=None)
    assert (early.kind, early.found) == (K.ILLEGAL_STATE, "queued")
    not_yet = await s.task_start(task_id, work_dir="/w")
    assert (not_yet.kind, not_yet.found) == (K.ILLEGAL_STATE, "queued")
    missing = await s.task_complete("nope", result={}, session_id=None)
    assert (missing.kind, missing.found) == (K.NOT_FOUND, None)
    assert (await s.task_get(ws, task_id)).status == "queued"  # type: ignore[union-attr]


async def test_fail_from_each_source_keeps_session_and_work_dir(world: World) -> None:
    s, ws = world.store, world.ws.id
    agent = await s.agent_create(ws, name="w", runtime_id=world.runtime.id, max_concurrent_tasks=9)
    queued = await s.task_enqueue(ws, agent_id=agent.id)
    dispatched = await s.task_enqueue(ws, agent_id=agent.id)
    running = await s.task_enqueue(ws, agent_id=agent.id)
    await advance(s, ws, dispatched.id, "dispatched")
    await advance(s, ws, running.id, "running")
    await s.task_pin_session(running.id, "sess-9")
    for task, found in ((queued, "queued"), (dispatched, "dispatched"), (running, "running")):
        outcome = await s.task_fail(
            task.id, reason=FailureReason.AGENT_ERROR, result={"content": "boom"}
        )
        child = outcome.child
        assert (outcome.kind, outcome.found, child) == (K.TRANSITIONED, found, None)
    row = await s.task_get(ws, running.id)
    assert row is not None
    assert (row.status, row.failure_reason, row.session_id) == ("failed", "agent_error", "sess-9")
    assert row.result == {"content": "boom"}
    assert row.finished_at == world.clock.now_ms()
    assert await s.task_pin_session(running.id, "late") is False  # terminal rows stay put


async def test_cancel_from_each_source_reopens_the_issue(world: World) -> None:
    s, ws = world.store, world.ws.id
    issue_id, task_id = await _issue_task(world)
    await advance(s, ws, task_id, "running")
    assert (await s.issue_get(ws, issue_id)).state == "in_progress"  # type: ignore[union-attr]
    outcome = await s.task_cancel(ws, task_id)
    assert (outcome.kind, outcome.found) == (K.TRANSITIONED, "running")
    row = await s.task_get(ws, task_id)
    assert row is not None and (row.status, row.failure_reason) == ("cancelled", "user_cancel")
    assert (await s.issue_get(ws, issue_id)).state == "open"  # type: ignore[union-attr]
    assert (await s.task_cancel(ws, task_id)).kind is K.ALREADY_TERMINAL
    for stop_at in ("queued", "dispatched"):
        task = await s.task_enqueue(ws, agent_id=world.agent.id, issue_id=issue_id)
        if stop_at == "dispatched":
            await advance(s, ws, task.id, "dispatched")
        outcome = await s.task_cancel(ws, task.id)
        assert (outcome.kind, outcome.found) == (K.TRANSITIONED, stop_at)


async def test_transition_by_hand_follows_the_table(world: World) -> None:
    s, ws = world.store, world.ws.id
    task = await s.task_enqueue(ws, agent_id=world.agent.id)
    with pytest.raises(UnknownState):
        await s.task_transition(ws, task.id, "paused")
    illegal = await s.task_transition(ws, task.id, "running")  # queued → running: no edge
    assert (illegal.kind, illegal.found) == (K.ILLEGAL_STATE, "queued")
    assert (await s.task_transition(ws, task.id, TaskStatus.DISPATCHED)).wrote
    back = await s.task_transition(ws, task.id, "queued")  # the reclaim edge
    assert back.wrote
    row = await s.task_get(ws, task.id)
    assert row is not None and (row.status, row.dispatched_at, row.attempt) == ("queued", None, 1)
    await advance(s, ws, task.id, "running")
    assert (await s.task_transition(ws, task.id, "done")).wrote
    assert (await s.task_get(ws, task.id)).status == "done"  # type: ignore[union-attr]


async def test_racing_complete_and_cancel_first_writer_wins(
    migrated_url: str, clock: FixedClock
) -> None:
    ids = UlidGen()
    a = await Store.open(migrated_url, clock=clock, ids=ids, migrate=False)
    b = await Store.open(migrated_url, clock=clock, ids=ids, migrate=False)
    try:
        ws = await a.workspace_create("race", "Race")
        rt = await a.runtime_ensure(ws.id, "d", "claude")
        agent = await a.agent_create(ws.id, name="bot", runtime_id=rt.id, max_concurrent_tasks=50)
        tasks = [await a.task_enqueue(ws.id, agent_id=agent.id) for _ in range(20)]
        for t in tasks:
            await advance(a, ws.id, t.id, "running")
        for t in tasks:
            done, cancelled = await asyncio.gather(
                a.task_complete(t.id, result={"content": "ok"}, session_id=None),
                b.task_cancel(ws.id, t.id),
            )
            kinds = {done.kind, cancelled.kind}
            assert kinds == {K.TRANSITIONED, K.TERMINAL_MISMATCH}, (done, cancelled)
            row = await a.task_get(ws.id, t.id)
            assert row is not None
            winner = "done" if done.wrote else "cancelled"
            assert row.status == winner
            loser = cancelled if done.wrote else done
            assert loser.found == winner
    finally:
        await a.close()
        await b.close()
