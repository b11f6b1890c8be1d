"""The IDOR guard: an id from another workspace behaves exactly like a missing id."""

from __future__ import annotations

import pytest

from hangar.core.failures import FailureReason
from hangar.core.fsm import FinalizeKind
from hangar.proto.rows import TaskUsageRow
from hangar.store import NotFound

from .conftest import World, make_world


@pytest.fixture
async def theirs(world: World) -> World:
    return await make_world(world.store, world.clock, slug="rival")


async def test_foreign_ids_are_invisible(world: World, theirs: World) -> None:
    s, mine = world.store, world.ws.id
    issue, task = await s.issue_create(
        theirs.ws.id, title="secret", creator=theirs.creator, assign_agent_id=theirs.agent.id
    )
    assert task is not None
    await s.messages_append(task.id, [("agent", "hello")])
    await s.usage_set(task.id, [TaskUsageRow(task_id=task.id, model="m", input_tokens=1)])

    assert await s.agent_get(mine, theirs.agent.id) is None
    assert await s.agent_get(mine, theirs.agent.name) == world.agent  # by name: our own "bot"
    assert await s.issue_get(mine, issue.id) is None
    assert await s.task_get(mine, task.id) is None
    assert await s.issue_list(mine) == []
    assert await s.task_list(mine) == []
    assert await s.task_list(mine, issue_id=issue.id) == []
    assert await s.messages_list(mine, task.id) == []
    assert await s.messages_count(mine, task.id) == 0
    assert await s.usage_list(mine, task.id) == []
    assert [a.id for a in await s.agent_list(mine)] == [world.agent.id]
    assert [r.id for r in await s.runtimes_list(mine)] == [world.runtime.id]


async def test_foreign_ids_can_not_be_written(world: World, theirs: World) -> None:
    s, mine = world.store, world.ws.id
    issue, task = await s.issue_create(
        theirs.ws.id, title="secret", creator=theirs.creator, assign_agent_id=theirs.agent.id
    )
    assert task is not None
    before = await s.task_get(theirs.ws.id, task.id)

    for outcome in (
        await s.task_cancel(mine, task.id),
        await s.task_transition(mine, task.id, "dispatched"),
        await s.task_transition(mine, task.id, "failed"),
    ):
        assert outcome.kind is FinalizeKind.NOT_FOUND
    with pytest.raises(NotFound):
        await s.issue_update(mine, issue.id, state="done")
    with pytest.raises(NotFound):
        await s.task_enqueue(mine, agent_id=theirs.agent.id)
    with pytest.raises(NotFound):
        await s.task_enqueue(mine, agent_id=world.agent.id, issue_id=issue.id)
    with pytest.raises(NotFound):
        await s.issue_create(
            mine, title="x", creator=world.creator, assign_agent_id=theirs.agent.id
        )
    mine_issue, _ = await s.issue_create(mine, title="ours", creator=world.creator)
    with pytest.raises(NotFound):
        await s.issue_update(mine, mine_issue.id, assignee=f"agent:{theirs.agent.id}")

    assert await s.task_get(theirs.ws.id, task.id) == before
    assert (await s.issue_get(theirs.ws.id, issue.id)) == issue

    # Retry of a foreign failed task: also "not found".
    await s.task_fail(task.id, reason=FailureReason.AGENT_ERROR)
    with pytest.raises(NotFound):
        await s.task_retry(mine, task.id)
    assert len(await s.task_list(theirs.ws.id)) == 1
