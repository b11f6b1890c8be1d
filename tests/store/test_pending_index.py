"""One pending (queued/dispatched) task per (issue, agent): the partial unique index."""

from __future__ import annotations

import pytest

from hangar.store import Conflict

from .conftest import World, advance


async def test_second_pending_task_for_the_same_issue_and_agent_conflicts(world: World) -> None:
    s, ws = world.store, world.ws.id
    issue, first = await s.issue_create(
        ws, title="x", creator=world.creator, assign_agent_id=world.agent.id
    )
    assert first is not None
    with pytest.raises(Conflict):
        await s.task_enqueue(ws, agent_id=world.agent.id, issue_id=issue.id)
    await advance(s, ws, first.id, "dispatched")  # dispatched is pending too
    with pytest.raises(Conflict):
        await s.task_enqueue(ws, agent_id=world.agent.id, issue_id=issue.id)
    assert len(await s.task_list(ws)) == 1


async def test_another_agent_on_the_same_issue_is_fine(world: World) -> None:
    s, ws = world.store, world.ws.id
    issue, _ = await s.issue_create(
        ws, title="x", creator=world.creator, assign_agent_id=world.agent.id
    )
    other = await s.agent_create(ws, name="reviewer", runtime_id=world.runtime.id)
    task = await s.task_enqueue(ws, agent_id=other.id, issue_id=issue.id)
    assert task.status == "queued"


async def test_a_task_that_left_pending_frees_the_slot(world: World) -> None:
    s, ws = world.store, world.ws.id
    issue, first = await s.issue_create(
        ws, title="x", creator=world.creator, assign_agent_id=world.agent.id
    )
    assert first is not None
    await advance(s, ws, first.id, "running")
    second = await s.task_enqueue(ws, agent_id=world.agent.id, issue_id=issue.id)
    await s.task_cancel(ws, second.id)
    third = await s.task_enqueue(ws, agent_id=world.agent.id, issue_id=issue.id)
    assert third.status == "queued"


async def test_tasks_without_an_issue_never_collide(world: World) -> None:
    s, ws = world.store, world.ws.id
    a = await s.task_enqueue(ws, agent_id=world.agent.id)
    b = await s.task_enqueue(ws, agent_id=world.agent.id)
    assert a.id != b.id
