"""Issue dependencies as the rest of the store sees them (both backends): each row's reason
read per page in a fixed number of statements, the blocked/ready filter, blocking and
unblocking with what they imply, and the dependents a blocker strands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from hangar.core.failures import FailureReason
from hangar.proto.rows import IssueRow
from hangar.store import Blocked, Conflict, NotFound

from .conftest import World


async def _issue(
    world: World, title: str, *, assign: bool = False, by: list[str] | None = None
) -> IssueRow:
    row, _ = await world.store.issue_create(
        world.ws.id,
        title=title,
        creator=world.creator,
        assign_agent_id=world.agent.id if assign else None,
        blocked_by=by or [],
    )
    return row


@contextmanager
def counting(world: World) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = world.store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_a_page_reads_its_reasons_in_the_same_statements_however_many(
    world: World,
) -> None:
    blocker = await _issue(world, "B", assign=True)
    for n in range(2):
        await _issue(world, f"A{n}", by=[blocker.id])
    with counting(world) as few:
        small = await world.store.issue_list(world.ws.id)
    for n in range(2, 12):
        await _issue(world, f"A{n}", by=[blocker.id])
    with counting(world) as many:
        big = await world.store.issue_list(world.ws.id)
    assert len(small) == 3 and len(big) == 13
    assert len(many) == len(few)  # not one per issue
    assert {r.blocked for r in big if r.id != blocker.id} == {f"blocked by {blocker.id}"}


async def test_the_filter_agrees_with_each_rows_reason(world: World) -> None:
    done = await _issue(world, "done")
    await world.store.issue_edit(world.ws.id, done.id, state="done")
    pending = await _issue(world, "pending")
    free = await _issue(world, "free", by=[done.id])
    waits = await _issue(world, "waits", by=[done.id, pending.id])
    blocked = await world.store.issue_list(world.ws.id, blocked=True)
    ready = await world.store.issue_list(world.ws.id, blocked=False)
    assert [r.id for r in blocked] == [waits.id]
    assert blocked[0].blocked == f"blocked by {pending.id}"
    assert {r.id for r in ready} == {done.id, pending.id, free.id}
    assert all(r.blocked is None for r in ready)


async def test_block_refuses_an_issue_with_a_pending_task_and_writes_nothing(
    world: World,
) -> None:
    deps = world.store.dependencies
    blocker = await _issue(world, "B")
    busy = await _issue(world, "busy", assign=True)
    with pytest.raises(Conflict, match="cancel it first"):
        await deps.block(world.ws.id, busy.id, blocker.id)
    assert await deps.blockers_of(world.ws.id, busy.id) == []


async def test_unblock_queues_the_last_blocker_once(world: World) -> None:
    deps = world.store.dependencies
    blocker = await _issue(world, "B")
    dependent = await _issue(world, "A", by=[blocker.id])
    await world.store.issue_edit(world.ws.id, dependent.id, assignee=world.agent.id)
    row, changed, task = await deps.unblock(world.ws.id, dependent.id, blocker.id)
    assert changed and row.blocked is None and task is not None and task.status == "queued"
    row, changed, task = await deps.unblock(world.ws.id, dependent.id, blocker.id)
    assert not changed and task is None
    with pytest.raises(NotFound):
        await deps.unblock(world.ws.id, dependent.id, "missing")


async def test_a_final_failure_strands_open_dependents_in_its_write(world: World) -> None:
    blocker = await _issue(world, "B", assign=True)
    dependent = await _issue(world, "A", by=[blocker.id])
    closed = await _issue(world, "closed", by=[blocker.id])
    await world.store.issue_edit(world.ws.id, closed.id, state="cancelled")
    [task] = await world.store.task_list(world.ws.id, issue_id=blocker.id)
    await world.store.task_transition(world.ws.id, task.id, "dispatched")
    await world.store.task_start(task.id, work_dir=None)
    change = await world.store.task_fail(
        task.id, reason=FailureReason.AGENT_ERROR, result=None, session_id=None
    )
    [stranded] = change.stranded  # not the closed one
    assert stranded.issue.id == dependent.id and stranded.blocker_id == blocker.id
    assert stranded.issue.blocked == f"blocked: {blocker.id} failed"
    assert stranded.standing.value == "failed"


async def test_enqueue_refuses_a_blocked_issue(world: World) -> None:
    blocker = await _issue(world, "B")
    dependent = await _issue(world, "A", by=[blocker.id])
    with pytest.raises(Blocked, match=f"blocked by {blocker.id}"):
        await world.store.task_enqueue(world.ws.id, agent_id=world.agent.id, issue_id=dependent.id)
    assert await world.store.task_list(world.ws.id, issue_id=dependent.id) == []
