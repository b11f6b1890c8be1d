"""Issue dependencies in the store: adding and removing edges inside one workspace, refusing
self-blocks and cycles, and each end's state as the blocker's tasks run (both backends)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hangar.core.dependencies import BlockerStanding, DependencyCycle, SelfBlock
from hangar.core.failures import FailureReason
from hangar.core.fsm import TaskStatus
from hangar.core.vocab import IssueState
from hangar.proto.rows import IssueRow, TaskRow
from hangar.store import Blocked, Conflict, NotFound
from hangar.store.schema import issue, issue_dependency

from .conftest import World, advance, make_world


async def _issue(world: World, title: str = "Work", *, assign: bool = False) -> IssueRow:
    issue, _ = await world.store.issue_create(
        world.ws.id,
        title=title,
        creator=world.creator,
        assign_agent_id=world.agent.id if assign else None,
    )
    return issue


async def _assigned(world: World, title: str) -> tuple[IssueRow, TaskRow]:
    issue, task = await world.store.issue_create(
        world.ws.id, title=title, creator=world.creator, assign_agent_id=world.agent.id
    )
    assert task is not None
    return issue, task


async def _edge_count(world: World) -> int:
    async with world.store.engine.connect() as conn:
        count = await conn.scalar(select(func.count()).select_from(issue_dependency))
    assert count is not None
    return count


async def test_an_edge_is_added_once_and_seen_from_both_ends(world: World) -> None:
    deps = world.store.dependencies
    a, b = await _issue(world, "A"), await _issue(world, "B")
    assert await deps.add(world.ws.id, a.id, b.id) is True
    assert await deps.add(world.ws.id, a.id, b.id) is False  # already there: nothing new
    [blocker] = await deps.blockers_of(world.ws.id, a.id)
    assert (blocker.issue_id, blocker.title, blocker.state) == (b.id, "B", IssueState.OPEN)
    assert blocker.last_task is None and blocker.standing is BlockerStanding.PENDING
    assert blocker.created_at == world.clock.now_ms()
    [dependent] = await deps.dependents_of(world.ws.id, b.id)
    assert (dependent.issue_id, dependent.title) == (a.id, "A")
    assert await deps.blockers_of(world.ws.id, b.id) == []
    verdict = await deps.blockage(world.ws.id, a.id)
    assert verdict.blocked and verdict.reason == f"blocked by {b.id}"
    assert not (await deps.blockage(world.ws.id, b.id)).blocked
    assert await _edge_count(world) == 1


async def test_remove_drops_the_edge_and_unblocks(world: World) -> None:
    deps = world.store.dependencies
    a, b = await _issue(world, "A"), await _issue(world, "B")
    await deps.add(world.ws.id, a.id, b.id)
    assert await deps.remove(world.ws.id, a.id, b.id) is True
    assert await deps.remove(world.ws.id, a.id, b.id) is False
    assert not (await deps.blockage(world.ws.id, a.id)).blocked
    assert await _edge_count(world) == 0


async def test_self_block_and_cycles_are_refused_and_write_nothing(world: World) -> None:
    deps = world.store.dependencies
    a, b, c = [await _issue(world, t) for t in "ABC"]
    with pytest.raises(SelfBlock):
        await deps.add(world.ws.id, a.id, a.id)
    await deps.add(world.ws.id, a.id, b.id)
    await deps.add(world.ws.id, b.id, c.id)
    with pytest.raises(DependencyCycle) as caught:
        await deps.add(world.ws.id, c.id, a.id)
    assert caught.value.cycle == (c.id, a.id, b.id, c.id)
    assert f"{c.id} -> {a.id} -> {b.id} -> {c.id}" in str(caught.value)
    assert await _edge_count(world) == 2


async def test_unknown_and_foreign_ids_answer_like_missing(world: World) -> None:
    deps = world.store.dependencies
    other = await make_world(world.store, world.clock, "other")
    mine = await _issue(world, "Mine")
    theirs = await _issue(other, "Theirs")
    for issue_id, blocker_id in [
        (mine.id, theirs.id),
        (theirs.id, mine.id),
        (mine.id, "nope"),
        ("nope", mine.id),
    ]:
        with pytest.raises(NotFound, match="issue not found"):
            await deps.add(world.ws.id, issue_id, blocker_id)
    with pytest.raises(NotFound):
        await deps.blockers_of(world.ws.id, theirs.id)
    with pytest.raises(NotFound):
        await deps.dependents_of(world.ws.id, theirs.id)
    with pytest.raises(NotFound):
        await deps.remove(world.ws.id, theirs.id, mine.id)
    # an edge in the other workspace is invisible here
    other_b = await _issue(other, "Theirs too")
    await deps.add(other.ws.id, theirs.id, other_b.id)
    with pytest.raises(NotFound):
        await deps.dependents_of(world.ws.id, other_b.id)
    assert await _edge_count(world) == 1


async def test_the_blockers_standing_follows_its_tasks(world: World) -> None:
    deps, s = world.store.dependencies, world.store
    blocker, task = await _assigned(world, "Blocker")
    dependent = await _issue(world, "Dependent")
    await deps.add(world.ws.id, dependent.id, blocker.id)

    async def seen() -> tuple[TaskStatus | None, BlockerStanding, str | None]:
        [link] = await deps.blockers_of(world.ws.id, dependent.id)
        return (
            link.last_task,
            link.standing,
            (await deps.blockage(world.ws.id, dependent.id)).reason,
        )

    assert await seen() == (TaskStatus.QUEUED, BlockerStanding.PENDING, f"blocked by {blocker.id}")
    await advance(s, world.ws.id, task.id, "running")
    await s.task_fail(task.id, reason=FailureReason.AGENT_ERROR)
    assert await seen() == (
        TaskStatus.FAILED,
        BlockerStanding.FAILED,
        f"blocked: {blocker.id} failed",
    )
    world.clock.advance(1)
    retry = await s.task_retry(world.ws.id, task.id)  # the retry re-arms it
    assert await seen() == (TaskStatus.QUEUED, BlockerStanding.PENDING, f"blocked by {blocker.id}")
    await advance(s, world.ws.id, retry.id, "running")
    change = await s.task_complete(retry.id, result={"content": "ok"}, session_id=None)
    assert change.outcome.ok
    [link] = await deps.blockers_of(world.ws.id, dependent.id)
    assert (link.state, link.standing) == (IssueState.DONE, BlockerStanding.DONE)
    assert not (await deps.blockage(world.ws.id, dependent.id)).blocked


async def test_a_cancelled_blocker_strands_its_dependent_with_a_reason(world: World) -> None:
    deps, s = world.store.dependencies, world.store
    blocker, task = await _assigned(world, "Blocker")
    dependent = await _issue(world, "Dependent")
    await deps.add(world.ws.id, dependent.id, blocker.id)
    await s.task_cancel(world.ws.id, task.id)
    reason = (await deps.blockage(world.ws.id, dependent.id)).reason
    assert reason == f"blocked: {blocker.id} cancelled"
    await s.issue_edit(world.ws.id, blocker.id, state="cancelled")  # closed, not done
    [link] = await deps.blockers_of(world.ws.id, dependent.id)
    assert (link.state, link.standing) == (IssueState.CANCELLED, BlockerStanding.CANCELLED)
    assert (await deps.blockage(world.ws.id, dependent.id)).blocked


async def test_a_blocker_closed_done_by_hand_releases_it(world: World) -> None:
    deps, s = world.store.dependencies, world.store
    blocker = await _issue(world, "Blocker")
    dependent = await _issue(world, "Dependent")
    await deps.add(world.ws.id, dependent.id, blocker.id)
    await s.issue_edit(world.ws.id, blocker.id, state="done")
    assert not (await deps.blockage(world.ws.id, dependent.id)).blocked


async def test_a_deleted_blocker_keeps_its_dependent_blocked(world: World) -> None:
    deps, s = world.store.dependencies, world.store
    blocker = await _issue(world, "Blocker")
    dependent = await _issue(world, "Dependent")
    await deps.add(world.ws.id, dependent.id, blocker.id)
    async with s.engine.begin() as conn:  # no delete path yet: what one would leave behind
        await conn.execute(issue.delete().where(issue.c.id == blocker.id))
    [link] = await deps.blockers_of(world.ws.id, dependent.id)
    assert (link.title, link.state, link.standing) == (None, None, BlockerStanding.DELETED)
    assert (
        await deps.blockage(world.ws.id, dependent.id)
    ).reason == f"blocked: {blocker.id} deleted"
    [still] = await deps.dependents_of(world.ws.id, blocker.id)
    assert still.issue_id == dependent.id
    assert await deps.remove(world.ws.id, dependent.id, blocker.id) is True  # unblock by hand
    assert not (await deps.blockage(world.ws.id, dependent.id)).blocked


async def test_a_dependent_deleted_takes_its_edges_with_it(world: World) -> None:
    deps, s = world.store.dependencies, world.store
    blocker = await _issue(world, "Blocker")
    dependent = await _issue(world, "Dependent")
    await deps.add(world.ws.id, dependent.id, blocker.id)
    if s.dialect == "sqlite":
        pytest.skip("SQLite leaves foreign keys unenforced (docs/schema.md#conventions)")
    async with s.engine.begin() as conn:
        await conn.execute(issue.delete().where(issue.c.id == dependent.id))
    assert await deps.dependents_of(world.ws.id, blocker.id) == []


async def _pending(world: World, issue_id: str) -> list[TaskRow]:
    tasks = await world.store.task_list(world.ws.id)
    return [t for t in tasks if t.issue_id == issue_id and t.status in ("queued", "dispatched")]


async def test_a_blocked_issue_created_assigned_queues_nothing(world: World) -> None:
    s = world.store
    blocker = await _issue(world, "Blocker")
    issue, task = await s.issue_create(
        world.ws.id,
        title="Later",
        creator=world.creator,
        assign_agent_id=world.agent.id,
        blocked_by=[blocker.id, blocker.id],
    )
    assert task is None and issue.assignee == f"agent:{world.agent.id}"
    assert [link.issue_id for link in await s.dependencies.blockers_of(world.ws.id, issue.id)] == [
        blocker.id
    ]
    done = await _issue(world, "Done already")
    await s.issue_edit(world.ws.id, done.id, state="done")
    _, ready = await s.issue_create(
        world.ws.id,
        title="Ready",
        creator=world.creator,
        assign_agent_id=world.agent.id,
        blocked_by=[done.id],
    )
    assert ready is not None  # every blocker done: not blocked


async def test_create_with_a_foreign_blocker_writes_nothing(world: World) -> None:
    other = await make_world(world.store, world.clock, "other")
    theirs = await _issue(other, "Theirs")
    with pytest.raises(NotFound):
        await world.store.issue_create(
            world.ws.id, title="X", creator=world.creator, blocked_by=[theirs.id]
        )
    assert await world.store.issue_list(world.ws.id) == []


async def test_assigning_or_reassigning_a_blocked_issue_queues_nothing(world: World) -> None:
    s = world.store
    blocker = await _issue(world, "Blocker")
    dependent = await _issue(world, "Dependent")
    await s.dependencies.add(world.ws.id, dependent.id, blocker.id)
    row, task = await s.issue_assign(world.ws.id, dependent.id, world.agent.id)
    assert task is None and row.assignee == f"agent:{world.agent.id}"
    edit = await s.issue_edit(world.ws.id, dependent.id, assignee=None)
    edit = await s.issue_edit(world.ws.id, dependent.id, assignee=world.agent.id)
    assert edit.queued is None and edit.blocked == f"blocked by {blocker.id}"
    assert await _pending(world, dependent.id) == []


async def test_the_last_blocker_done_queues_the_dependent_in_its_finalize(world: World) -> None:
    s = world.store
    first, first_task = await _assigned(world, "First")
    second, second_task = await _assigned(world, "Second")
    dependent, none = await s.issue_create(
        world.ws.id,
        title="Dependent",
        creator=world.creator,
        assign_agent_id=world.agent.id,
        blocked_by=[first.id, second.id],
    )
    assert none is None
    await advance(s, world.ws.id, first_task.id, "running")
    change = await s.task_complete(first_task.id, result={}, session_id=None)
    assert change.woken == [] and await _pending(world, dependent.id) == []
    await advance(s, world.ws.id, second_task.id, "running")
    change = await s.task_complete(second_task.id, result={}, session_id=None)
    [woken] = change.woken
    assert (woken.issue_id, woken.agent_id, woken.status) == (
        dependent.id,
        world.agent.id,
        "queued",
    )
    again = await s.task_complete(second_task.id, result={}, session_id=None)
    assert again.woken == []  # a retried finalize writes nothing and wakes nothing
    assert [t.id for t in await _pending(world, dependent.id)] == [woken.id]


async def test_a_failed_blocker_wakes_nothing(world: World) -> None:
    s = world.store
    blocker, task = await _assigned(world, "Blocker")
    dependent, _ = await s.issue_create(
        world.ws.id,
        title="Dependent",
        creator=world.creator,
        assign_agent_id=world.agent.id,
        blocked_by=[blocker.id],
    )
    await advance(s, world.ws.id, task.id, "running")
    change = await s.task_fail(task.id, reason=FailureReason.AGENT_ERROR)
    assert change.woken == [] and await _pending(world, dependent.id) == []
    reason = (await s.dependencies.blockage(world.ws.id, dependent.id)).reason
    assert reason == f"blocked: {blocker.id} failed"


async def test_an_unassigned_or_closed_dependent_is_not_woken(world: World) -> None:
    s = world.store
    blocker, task = await _assigned(world, "Blocker")
    loose = await _issue(world, "Nobody's")
    closed = await _issue(world, "Closed")
    for dependent in (loose, closed):
        await s.dependencies.add(world.ws.id, dependent.id, blocker.id)
    await s.issue_assign(world.ws.id, closed.id, world.agent.id)
    await s.issue_edit(world.ws.id, closed.id, state="cancelled")
    await advance(s, world.ws.id, task.id, "running")
    change = await s.task_complete(task.id, result={}, session_id=None)
    assert change.woken == []


async def test_closing_the_last_blocker_done_by_hand_wakes_the_dependent(world: World) -> None:
    s = world.store
    blocker = await _issue(world, "Blocker")
    dependent, none = await s.issue_create(
        world.ws.id,
        title="Dependent",
        creator=world.creator,
        assign_agent_id=world.agent.id,
        blocked_by=[blocker.id],
    )
    assert none is None
    edit = await s.issue_edit(world.ws.id, blocker.id, state="cancelled")
    assert edit.woken == []  # closed without done: still blocked
    await s.issue_edit(world.ws.id, blocker.id, state="open")
    edit = await s.issue_edit(world.ws.id, blocker.id, state="done")
    [woken] = edit.woken
    assert woken.issue_id == dependent.id
    assert [t.id for t in await _pending(world, dependent.id)] == [woken.id]


async def test_a_manual_retry_of_a_blocked_issues_task_is_refused_with_the_reason(
    world: World,
) -> None:
    s = world.store
    issue, task = await _assigned(world, "Ran once")
    await advance(s, world.ws.id, task.id, "running")
    await s.task_fail(task.id, reason=FailureReason.AGENT_ERROR)
    blocker = await _issue(world, "Blocker")
    await s.dependencies.add(world.ws.id, issue.id, blocker.id)
    with pytest.raises(Blocked) as caught:
        await s.task_retry(world.ws.id, task.id)
    assert caught.value.reason == f"blocked by {blocker.id}"
    assert isinstance(caught.value, Conflict)
    assert await _pending(world, issue.id) == []
    await s.dependencies.remove(world.ws.id, issue.id, blocker.id)  # unblocked by hand
    retry = await s.task_retry(world.ws.id, task.id)
    assert retry.issue_id == issue.id
