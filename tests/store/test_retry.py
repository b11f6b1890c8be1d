"""Retry chains: automatic for retryable reasons while attempts remain, or by hand."""

from __future__ import annotations

import pytest

from hangar.core.failures import FailureReason
from hangar.core.fsm import FinalizeKind
from hangar.store import AlreadyRetried, Conflict, InvalidTransition

from .conftest import World, advance


async def _running_issue_task(world: World) -> tuple[str, str]:
    issue, task = await world.store.issue_create(
        world.ws.id,
        title="x",
        priority=2,
        creator=world.creator,
        assign_agent_id=world.agent.id,
    )
    assert task is not None
    await advance(world.store, world.ws.id, task.id, "dispatched")
    assert (await world.store.task_start(task.id, work_dir="/w/first")).wrote
    await world.store.task_pin_session(task.id, "sess-1")
    return issue.id, task.id


async def test_runtime_offline_is_retried_once_then_stops(world: World) -> None:
    s, ws = world.store, world.ws.id
    issue_id, first = await _running_issue_task(world)
    outcome = await s.task_fail(first, reason=FailureReason.RUNTIME_OFFLINE)
    child = outcome.child
    assert outcome.wrote and child is not None
    assert (child.status, child.attempt, child.max_attempts, child.parent_task_id) == (
        "queued",
        2,
        2,
        first,
    )
    assert (child.issue_id, child.agent_id, child.runtime_id, child.priority) == (
        issue_id,
        world.agent.id,
        world.runtime.id,
        2,
    )
    # The tree survives for a resumed run; per-run columns start empty.
    assert (child.work_dir, child.session_id, child.dispatched_at) == ("/w/first", None, None)
    # A retry is coming: the issue stays in progress.
    assert (await s.issue_get(ws, issue_id)).state == "in_progress"  # type: ignore[union-attr]

    await advance(s, ws, child.id, "running")
    outcome = await s.task_fail(child.id, reason=FailureReason.RUNTIME_OFFLINE)
    grandchild = outcome.child
    assert outcome.wrote and grandchild is None  # attempt 2 of 2: no more
    assert (await s.issue_get(ws, issue_id)).state == "open"  # type: ignore[union-attr]
    assert len(await s.task_list(ws)) == 2


async def test_agent_error_is_not_retried(world: World) -> None:
    s, ws = world.store, world.ws.id
    issue_id, task_id = await _running_issue_task(world)
    outcome = await s.task_fail(task_id, reason=FailureReason.AGENT_ERROR)
    child = outcome.child
    assert outcome.wrote and child is None
    assert len(await s.task_list(ws)) == 1
    assert (await s.issue_get(ws, issue_id)).state == "open"  # type: ignore[union-attr]


async def test_child_carries_the_work_dir(world: World) -> None:
    s = world.store
    _, task_id = await _running_issue_task(world)
    change = await s.task_fail(task_id, reason=FailureReason.RUNTIME_RECOVERY)
    child = change.child
    assert child is not None and child.work_dir == "/w/first"


async def test_auto_retry_that_would_collide_is_skipped_not_fatal(world: World) -> None:
    s, ws = world.store, world.ws.id
    issue_id, task_id = await _running_issue_task(world)
    pending = await s.task_enqueue(ws, agent_id=world.agent.id, issue_id=issue_id)
    outcome = await s.task_fail(task_id, reason=FailureReason.RUNTIME_OFFLINE)
    child = outcome.child
    assert outcome.wrote and child is None  # the pending task already covers the issue
    assert (await s.task_get(ws, task_id)).status == "failed"  # type: ignore[union-attr]
    assert {t.id for t in await s.task_list(ws, status="queued")} == {pending.id}


async def test_manual_retry_of_failed_and_cancelled(world: World) -> None:
    s, ws = world.store, world.ws.id
    issue_id, task_id = await _running_issue_task(world)
    await s.task_fail(task_id, reason=FailureReason.AGENT_ERROR)
    child = await s.task_retry(ws, task_id)
    assert (child.status, child.attempt, child.parent_task_id) == ("queued", 2, task_id)
    await advance(s, ws, child.id, "running")
    await s.task_fail(child.id, reason=FailureReason.AGENT_ERROR)
    past_max = await s.task_retry(ws, child.id)  # by hand: even past max_attempts
    assert past_max.attempt == 3
    assert (await s.task_cancel(ws, past_max.id)).wrote
    again = await s.task_retry(ws, past_max.id)
    assert (again.attempt, again.issue_id) == (4, issue_id)


async def test_manual_retry_refusals(world: World) -> None:
    s, ws = world.store, world.ws.id
    issue_id, task_id = await _running_issue_task(world)
    with pytest.raises(InvalidTransition) as info:
        await s.task_retry(ws, task_id)
    assert (info.value.outcome.kind, info.value.outcome.found) == (
        FinalizeKind.ILLEGAL_STATE,
        "running",
    )
    await s.task_fail(task_id, reason=FailureReason.AGENT_ERROR)
    await s.task_enqueue(ws, agent_id=world.agent.id, issue_id=issue_id)
    with pytest.raises(Conflict):
        await s.task_retry(ws, task_id)
    assert len(await s.task_list(ws)) == 2


async def test_a_task_is_retried_once_then_its_retry_is(world: World) -> None:
    s, ws = world.store, world.ws.id
    _, task_id = await _running_issue_task(world)
    await s.task_fail(task_id, reason=FailureReason.AGENT_ERROR)
    child = await s.task_retry(ws, task_id)
    with pytest.raises(Conflict, match="pending"):  # the retry is still to run
        await s.task_retry(ws, task_id)
    await s.task_cancel(ws, child.id)
    with pytest.raises(AlreadyRetried, match=f"already retried as {child.id}"):
        await s.task_retry(ws, task_id)  # ended, but it has its retry: no second attempt 2
    assert [t.attempt for t in await s.task_list(ws)] == [2, 1]
    assert (await s.task_retry(ws, child.id)).attempt == 3
