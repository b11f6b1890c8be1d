"""Issues: create (optionally assigned, which enqueues), list, update."""

from __future__ import annotations

import pytest

from hangar.store import UNSET, InvalidValue, NotFound

from .conftest import World


async def test_unassigned_issue_enqueues_nothing(world: World) -> None:
    s = world.store
    issue, task = await s.issue_create(
        world.ws.id, title=" Fix it ", description="d", creator=world.creator
    )
    assert task is None
    assert (issue.title, issue.state, issue.assignee, issue.creator) == (
        "Fix it",
        "open",
        None,
        "member:tester",
    )
    assert await s.task_list(world.ws.id) == []


async def test_assigned_issue_enqueues_a_task_for_the_agent(world: World) -> None:
    s = world.store
    issue, task = await s.issue_create(
        world.ws.id,
        title="Ship",
        priority=2,
        repo_path="/repo",
        creator=world.creator,
        assign_agent_id=world.agent.id,
    )
    assert issue.assignee == f"agent:{world.agent.id}"
    assert (issue.priority, issue.repo_path) == (2, "/repo")
    assert task is not None
    assert (task.status, task.issue_id, task.agent_id) == ("queued", issue.id, world.agent.id)
    assert (task.runtime_id, task.priority, task.attempt, task.max_attempts) == (
        world.runtime.id,
        2,
        1,
        2,
    )
    assert await s.task_list(world.ws.id) == [task]


async def test_bad_input_writes_nothing(world: World) -> None:
    s = world.store
    with pytest.raises(InvalidValue):
        await s.issue_create(world.ws.id, title="x", priority=4, creator=world.creator)
    with pytest.raises(InvalidValue):
        await s.issue_create(world.ws.id, title="", creator=world.creator)
    with pytest.raises(InvalidValue):
        await s.issue_create(world.ws.id, title="x", creator="robot:1")
    with pytest.raises(NotFound):
        await s.issue_create(
            world.ws.id, title="x", creator=world.creator, assign_agent_id="missing"
        )
    assert await s.issue_list(world.ws.id) == []


async def test_list_is_newest_first_with_a_state_filter(world: World) -> None:
    s = world.store
    made = []
    for n in range(3):
        issue, _ = await s.issue_create(world.ws.id, title=f"i{n}", creator=world.creator)
        made.append(issue)
        world.clock.advance(10)
    assert [i.title for i in await s.issue_list(world.ws.id)] == ["i2", "i1", "i0"]
    await s.issue_update(world.ws.id, made[1].id, state="done")
    assert [i.title for i in await s.issue_list(world.ws.id, state="open")] == ["i2", "i0"]
    assert [i.title for i in await s.issue_list(world.ws.id, state="done")] == ["i1"]
    with pytest.raises(InvalidValue):
        await s.issue_list(world.ws.id, state="bogus")


async def test_update_sets_and_clears_fields(world: World) -> None:
    s = world.store
    issue, _ = await s.issue_create(world.ws.id, title="x", creator=world.creator)
    same = await s.issue_update(world.ws.id, issue.id)
    assert same == issue
    changed = await s.issue_update(
        world.ws.id,
        issue.id,
        state="in_progress",
        assignee=f"agent:{world.agent.id}",
        priority=3,
    )
    assert (changed.state, changed.assignee, changed.priority) == (
        "in_progress",
        f"agent:{world.agent.id}",
        3,
    )
    kept = await s.issue_update(world.ws.id, issue.id, assignee=UNSET, priority=1)
    assert (kept.assignee, kept.priority) == (f"agent:{world.agent.id}", 1)
    cleared = await s.issue_update(world.ws.id, issue.id, assignee=None)
    assert cleared.assignee is None
    member = await s.issue_update(world.ws.id, issue.id, assignee="member:someone")
    assert member.assignee == "member:someone"
    assert await s.issue_get(world.ws.id, issue.id) == member


async def test_update_refuses_bad_values(world: World) -> None:
    s = world.store
    issue, _ = await s.issue_create(world.ws.id, title="x", creator=world.creator)
    for kwargs in ({"state": "bogus"}, {"priority": -1}, {"assignee": "agent"}):
        with pytest.raises(InvalidValue):
            await s.issue_update(world.ws.id, issue.id, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await s.issue_update(world.ws.id, issue.id, assignee="agent:missing")
    with pytest.raises(NotFound):
        await s.issue_update(world.ws.id, "missing", state="done")
    assert await s.issue_get(world.ws.id, issue.id) == issue


async def test_list_filters_by_who_is_assigned(world: World) -> None:
    s = world.store
    await s.issue_create(
        world.ws.id, title="agent's", creator=world.creator, assign_agent_id=world.agent.id
    )
    to_me, _ = await s.issue_create(world.ws.id, title="mine", creator=world.creator)
    await s.issue_update(world.ws.id, to_me.id, assignee=world.creator)
    to_other, _ = await s.issue_create(world.ws.id, title="theirs", creator=world.creator)
    await s.issue_update(world.ws.id, to_other.id, assignee="member:someone_%")
    await s.issue_create(world.ws.id, title="nobody's", creator=world.creator)

    def titles(rows: list) -> set[str]:
        return {i.title for i in rows}

    assert titles(await s.issue_list(world.ws.id, assignee_kind="agent")) == {"agent's"}
    assert titles(await s.issue_list(world.ws.id, assignee_kind="member")) == {"mine", "theirs"}
    assert titles(await s.issue_list(world.ws.id, assignee=world.creator)) == {"mine"}
    # LIKE wildcards in a ref are plain characters
    assert titles(await s.issue_list(world.ws.id, assignee="member:someone_%")) == {"theirs"}
    with pytest.raises(ValueError):
        await s.issue_list(world.ws.id, assignee_kind="robot")
