"""Editing an issue: every change one transaction, returning what it wrote — the issue, a
task queued for a new assignee, the tasks it cancelled or asked to cancel, and why."""

from __future__ import annotations

import asyncio

import pytest

from hangar.core.ids import UlidGen
from hangar.core.issue_fsm import IssueMoveRefused
from hangar.proto.rows import AgentRow, IssueRow, TaskRow
from hangar.store import Conflict, InvalidValue, NotFound, Store
from hangar.store.errors import StoreError

from .conftest import World, advance, make_world


async def _issue(world: World, *, assign: bool = False, priority: int = 0) -> IssueRow:
    issue, _ = await world.store.issue_create(
        world.ws.id,
        title="Edit me",
        description="first",
        priority=priority,
        creator=world.creator,
        assign_agent_id=world.agent.id if assign else None,
    )
    return issue


async def _agent(world: World, name: str) -> AgentRow:
    return await world.store.agent_create(world.ws.id, name=name, runtime_id=world.runtime.id)


async def _tasks(world: World, issue: IssueRow) -> dict[str, TaskRow]:
    return {t.id: t for t in await world.store.task_list(world.ws.id, issue_id=issue.id)}


async def test_fields_change_in_one_write_and_say_so(world: World) -> None:
    issue = await _issue(world)
    edit = await world.store.issue_edit(
        world.ws.id, issue.id, title="  New title ", description="", priority=3
    )
    assert edit.changed
    assert (edit.issue.title, edit.issue.description, edit.issue.priority) == ("New title", None, 3)
    assert await world.store.issue_get(world.ws.id, issue.id) == edit.issue
    same = await world.store.issue_edit(world.ws.id, issue.id, title="New title", priority=3)
    assert not same.changed and same.issue == edit.issue


async def test_a_priority_change_reaches_the_queued_task(world: World) -> None:
    issue = await _issue(world, assign=True, priority=1)
    await world.store.issue_edit(world.ws.id, issue.id, priority=3)
    [task] = (await _tasks(world, issue)).values()
    assert task.priority == 3


async def test_assigning_an_agent_queues_its_task_and_cancels_the_previous_pending_one(
    world: World,
) -> None:
    issue = await _issue(world, assign=True)
    [old] = (await _tasks(world, issue)).values()
    other = await _agent(world, "other")

    edit = await world.store.issue_edit(world.ws.id, issue.id, assignee=f"agent:{other.name}")

    assert edit.issue.assignee == f"agent:{other.id}"
    assert edit.queued is not None
    assert (edit.queued.agent_id, edit.queued.status) == (other.id, "queued")
    [cancelled] = edit.cancelled
    assert (cancelled.id, cancelled.status, cancelled.failure_reason) == (
        old.id,
        "cancelled",
        "user_cancel",
    )
    assert cancelled.result is not None and "reassigned" in cancelled.result["error"]
    assert [(m.task_id, m.kind) for m in edit.messages] == [(old.id, "error")]
    assert "reassigned" in edit.messages[0].body
    tasks = await _tasks(world, issue)
    assert {t.status for t in tasks.values()} == {"queued", "cancelled"}


async def test_a_dispatched_task_of_the_previous_assignee_is_asked_to_cancel(
    world: World,
) -> None:
    issue = await _issue(world, assign=True)
    [old] = (await _tasks(world, issue)).values()
    await advance(world.store, world.ws.id, old.id, "dispatched")
    other = await _agent(world, "other")

    edit = await world.store.issue_edit(world.ws.id, issue.id, assignee=f"agent:{other.id}")

    [asked] = edit.requested
    assert (asked.id, asked.status) == (old.id, "dispatched")
    assert asked.cancel_requested_at is not None
    assert edit.cancelled == [] and edit.queued is not None


async def test_a_running_task_of_the_previous_assignee_keeps_running(world: World) -> None:
    issue = await _issue(world, assign=True)
    [old] = (await _tasks(world, issue)).values()
    await advance(world.store, world.ws.id, old.id, "running")
    other = await _agent(world, "other")
    edit = await world.store.issue_edit(world.ws.id, issue.id, assignee=f"agent:{other.id}")
    assert edit.requested == [] and edit.cancelled == []
    assert (await _tasks(world, issue))[old.id].cancel_requested_at is None


async def test_the_same_agent_twice_is_a_conflict_that_changes_nothing(world: World) -> None:
    issue = await _issue(world, assign=True)
    before = await _tasks(world, issue)
    with pytest.raises(Conflict, match="pending"):
        await world.store.issue_edit(
            world.ws.id, issue.id, assignee=f"agent:{world.agent.id}", title="changed"
        )
    assert await _tasks(world, issue) == before
    assert (await world.store.issue_get(world.ws.id, issue.id)) == issue


async def test_unassigning_cancels_the_agents_pending_task(world: World) -> None:
    issue = await _issue(world, assign=True)
    edit = await world.store.issue_edit(world.ws.id, issue.id, assignee=None)
    assert edit.issue.assignee is None
    [cancelled] = edit.cancelled
    assert cancelled.result is not None and "unassigned" in cancelled.result["error"]
    assert edit.queued is None


async def test_a_member_takes_it_over_and_the_agents_pending_task_is_cancelled(
    world: World,
) -> None:
    issue = await _issue(world, assign=True)
    edit = await world.store.issue_edit(world.ws.id, issue.id, assignee=world.creator)
    assert edit.issue.assignee == world.creator and len(edit.cancelled) == 1


@pytest.mark.parametrize("state", ["done", "cancelled"])
async def test_closing_cancels_pending_tasks_and_asks_running_ones(
    world: World, state: str
) -> None:
    issue = await _issue(world, assign=True)
    [queued] = (await _tasks(world, issue)).values()
    second = await _agent(world, "second")
    third = await _agent(world, "third")
    running = await world.store.task_enqueue(world.ws.id, agent_id=second.id, issue_id=issue.id)
    await advance(world.store, world.ws.id, running.id, "running")
    finished = await world.store.task_enqueue(world.ws.id, agent_id=third.id, issue_id=issue.id)
    await advance(world.store, world.ws.id, finished.id, "running")
    await world.store.task_complete(finished.id, result=None, session_id=None)
    await world.store.issue_update(world.ws.id, issue.id, state="in_progress")

    edit = await world.store.issue_edit(world.ws.id, issue.id, state=state)

    assert edit.issue.state == state and edit.changed
    assert [t.id for t in edit.cancelled] == [queued.id]
    assert [t.id for t in edit.requested] == [running.id]
    assert {m.task_id for m in edit.messages} == {queued.id, running.id}
    tasks = await _tasks(world, issue)
    assert tasks[finished.id].status == "done"  # an ended task is left as it ended
    assert tasks[running.id].status == "running"  # its daemon stops it and finalizes
    assert tasks[running.id].cancel_requested_at is not None


async def test_closing_a_closed_issue_again_cancels_nothing(world: World) -> None:
    issue = await _issue(world)
    await world.store.issue_edit(world.ws.id, issue.id, state="done")
    again = await world.store.issue_edit(world.ws.id, issue.id, state="done")
    assert not again.changed and again.cancelled == [] and again.requested == []


async def test_a_refused_move_names_the_allowed_ones_and_writes_nothing(world: World) -> None:
    issue = await _issue(world)
    await world.store.issue_edit(world.ws.id, issue.id, state="done")
    with pytest.raises(IssueMoveRefused, match="from done it can go to open"):
        await world.store.issue_edit(world.ws.id, issue.id, state="cancelled", title="x")
    row = await world.store.issue_get(world.ws.id, issue.id)
    assert row is not None and (row.state, row.title) == ("done", "Edit me")
    reopened = await world.store.issue_edit(world.ws.id, issue.id, state="open")
    assert reopened.issue.state == "open"


async def test_assigning_a_closed_issue_is_refused(world: World) -> None:
    issue = await _issue(world)
    await world.store.issue_edit(world.ws.id, issue.id, state="cancelled")
    with pytest.raises(InvalidValue, match="reopen"):
        await world.store.issue_edit(world.ws.id, issue.id, assignee=f"agent:{world.agent.id}")
    fresh = await _issue(world)
    with pytest.raises(InvalidValue, match="contradict"):
        await world.store.issue_edit(
            world.ws.id, fresh.id, assignee=f"agent:{world.agent.id}", state="done"
        )
    # reopening and assigning in one edit is fine
    edit = await world.store.issue_edit(
        world.ws.id, issue.id, assignee=f"agent:{world.agent.id}", state="open"
    )
    assert edit.queued is not None and edit.issue.state == "open"


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"title": "  "}, InvalidValue),
        ({"title": "two\nlines"}, InvalidValue),
        ({"priority": 4}, InvalidValue),
        ({"state": "closed"}, InvalidValue),
        ({"assignee": "agent:nobody"}, NotFound),
        ({"assignee": "robot:1"}, InvalidValue),
        ({"title": "ok", "description": "a\x00b"}, InvalidValue),
    ],
)
async def test_bad_edits_write_nothing(
    world: World, fields: dict[str, object], error: type[Exception]
) -> None:
    issue = await _issue(world, assign=True)
    tasks = await _tasks(world, issue)
    with pytest.raises(error):
        await world.store.issue_edit(world.ws.id, issue.id, **{"description": "new", **fields})  # type: ignore[arg-type]
    assert await world.store.issue_get(world.ws.id, issue.id) == issue
    assert await _tasks(world, issue) == tasks


async def test_another_workspaces_issue_and_agent_are_missing(world: World) -> None:
    other = await make_world(world.store, world.clock, "other")
    theirs, _ = await other.store.issue_create(other.ws.id, title="t", creator=other.creator)
    with pytest.raises(NotFound, match="issue"):
        await world.store.issue_edit(world.ws.id, theirs.id, title="mine now")
    mine = await _issue(world)
    with pytest.raises(NotFound, match="agent"):
        await world.store.issue_edit(world.ws.id, mine.id, assignee=f"agent:{other.agent.id}")
    assert isinstance(NotFound("issue", "x"), StoreError)


async def test_closing_while_the_runs_finish_neither_deadlocks_nor_loses_a_write(
    world: World, migrated_url: str
) -> None:
    """Two stores, as two daemons on one database: one closes issues while the other
    finalizes their running tasks (which locks the task, then the issue)."""
    other = await Store.open(migrated_url, clock=world.clock, ids=UlidGen(), migrate=False)
    try:
        agent = await world.store.agent_create(
            world.ws.id, name="many", runtime_id=world.runtime.id, max_concurrent_tasks=50
        )
        pairs = []
        for _ in range(12):
            issue, task = await world.store.issue_create(
                world.ws.id, title="race", creator=world.creator, assign_agent_id=agent.id
            )
            assert task is not None
            await advance(world.store, world.ws.id, task.id, "running")
            pairs.append((issue.id, task.id))

        async def close_all() -> None:
            for issue_id, _ in pairs:
                await world.store.issue_edit(world.ws.id, issue_id, state="done")

        async def finish_all() -> None:
            for _, task_id in pairs:
                await other.task_complete(task_id, result={"content": "ok"}, session_id=None)

        await asyncio.wait_for(asyncio.gather(close_all(), finish_all()), timeout=60)
        for issue_id, task_id in pairs:
            row = await world.store.issue_get(world.ws.id, issue_id)
            task = await world.store.task_get(world.ws.id, task_id)
            assert row is not None and row.state == "done"
            assert task is not None and task.status == "done"  # the run's own end stands
    finally:
        await other.close()
