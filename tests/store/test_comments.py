"""An issue's thread: adding comments, paging them newest last, the workspace guard, and an
agent's result posted as a comment in the finalize's own transaction."""

from __future__ import annotations

import pytest

from hangar.core.comments import COMMENT_MAX_BYTES
from hangar.proto.rows import IssueRow
from hangar.store import InvalidValue, NotFound

from .conftest import World, advance, make_world


async def _issue(world: World, *, assign: bool = False) -> IssueRow:
    issue, _ = await world.store.issue_create(
        world.ws.id,
        title="Thread",
        creator=world.creator,
        assign_agent_id=world.agent.id if assign else None,
    )
    return issue


async def test_a_comment_is_stored_with_its_author_and_time(world: World) -> None:
    issue = await _issue(world)
    row = await world.store.comments.add(world.ws.id, issue.id, world.creator, "\nLooks *good*\n")
    assert (row.issue_id, row.author, row.body, row.created_at) == (
        issue.id,
        world.creator,
        "Looks *good*",
        world.clock.now_ms(),
    )
    page, more = await world.store.comments.page(world.ws.id, issue.id, limit=10)
    assert page == [row] and more is None


async def test_an_agent_can_be_the_author_by_name_or_id(world: World) -> None:
    issue = await _issue(world)
    by_name = await world.store.comments.add(world.ws.id, issue.id, "agent:bot", "one")
    by_id = await world.store.comments.add(world.ws.id, issue.id, world.agent.id, "two")
    assert by_name.author == by_id.author == f"agent:{world.agent.id}"
    with pytest.raises(NotFound, match="agent"):
        await world.store.comments.add(world.ws.id, issue.id, "agent:nobody", "three")


async def test_pages_are_newest_last_and_walk_back_with_a_cursor(world: World) -> None:
    issue = await _issue(world)
    made = []
    for n in range(5):
        made.append(await world.store.comments.add(world.ws.id, issue.id, world.creator, f"c{n}"))
        world.clock.advance(1)
    page, before = await world.store.comments.page(world.ws.id, issue.id, limit=2)
    assert [c.body for c in page] == ["c3", "c4"] and before == made[3].id
    page, before = await world.store.comments.page(world.ws.id, issue.id, limit=2, before=before)
    assert [c.body for c in page] == ["c1", "c2"] and before == made[1].id
    page, before = await world.store.comments.page(world.ws.id, issue.id, limit=2, before=before)
    assert [c.body for c in page] == ["c0"] and before is None


async def test_comments_in_one_millisecond_keep_their_order(world: World) -> None:
    issue = await _issue(world)
    for n in range(3):
        await world.store.comments.add(world.ws.id, issue.id, world.creator, f"c{n}")
    page, _ = await world.store.comments.page(world.ws.id, issue.id, limit=50)
    assert [c.body for c in page] == ["c0", "c1", "c2"]


async def test_bad_comments_write_nothing(world: World) -> None:
    issue = await _issue(world)
    for body in ("", "  \n ", "x" * (COMMENT_MAX_BYTES + 1), "a\x00b"):
        with pytest.raises(InvalidValue):
            await world.store.comments.add(world.ws.id, issue.id, world.creator, body)
    with pytest.raises(InvalidValue, match="actor ref"):
        await world.store.comments.add(world.ws.id, issue.id, "robot:1", "hi")
    with pytest.raises(NotFound, match="issue"):
        await world.store.comments.add(world.ws.id, "missing", world.creator, "hi")
    assert (await world.store.comments.page(world.ws.id, issue.id, limit=50))[0] == []


async def test_another_workspaces_issue_is_missing(world: World) -> None:
    other = await make_world(world.store, world.clock, "other")
    theirs = await _issue(other)
    await world.store.comments.add(other.ws.id, theirs.id, other.creator, "theirs")
    with pytest.raises(NotFound, match="issue"):
        await world.store.comments.add(world.ws.id, theirs.id, world.creator, "mine")
    with pytest.raises(NotFound, match="issue"):
        await world.store.comments.page(world.ws.id, theirs.id, limit=5)
    # nor can their agent be made the author here
    mine = await _issue(world)
    with pytest.raises(NotFound, match="agent"):
        await world.store.comments.add(world.ws.id, mine.id, f"agent:{other.agent.id}", "x")


async def test_a_cursor_of_another_issue_is_missing(world: World) -> None:
    first, second = await _issue(world), await _issue(world)
    foreign = await world.store.comments.add(world.ws.id, first.id, world.creator, "x")
    with pytest.raises(NotFound, match="comment"):
        await world.store.comments.page(world.ws.id, second.id, limit=5, before=foreign.id)


async def test_a_done_task_posts_its_result_on_its_issue_once(world: World) -> None:
    issue = await _issue(world, assign=True)
    [task] = await world.store.task_list(world.ws.id)
    await advance(world.store, world.ws.id, task.id, "running")

    change = await world.store.task_complete(
        task.id, result={"content": "All green.\n", "exit_code": 0}, session_id=None
    )
    again = await world.store.task_complete(
        task.id, result={"content": "All green.\n"}, session_id=None
    )

    assert [(c.author, c.body, c.issue_id) for c in change.comments] == [
        (f"agent:{world.agent.id}", "All green.", issue.id)
    ]
    assert again.comments == [] and not again.wrote
    page, _ = await world.store.comments.page(world.ws.id, issue.id, limit=50)
    assert page == change.comments


async def test_no_comment_for_an_empty_result_a_failure_or_no_issue(world: World) -> None:
    await _issue(world, assign=True)
    [task] = await world.store.task_list(world.ws.id)
    await advance(world.store, world.ws.id, task.id, "running")
    change = await world.store.task_complete(task.id, result={"content": "  "}, session_id=None)
    assert change.wrote and change.comments == []

    no_issue = await world.store.task_enqueue(world.ws.id, agent_id=world.agent.id)
    await advance(world.store, world.ws.id, no_issue.id, "running")
    change = await world.store.task_complete(no_issue.id, result={"content": "x"}, session_id=None)
    assert change.wrote and change.comments == []


async def test_a_long_result_is_posted_clipped_to_the_limit(world: World) -> None:
    issue = await _issue(world, assign=True)
    [task] = await world.store.task_list(world.ws.id)
    await advance(world.store, world.ws.id, task.id, "running")
    content = "x" * (COMMENT_MAX_BYTES * 2) + " end"
    change = await world.store.task_complete(task.id, result={"content": content}, session_id=None)
    [comment] = change.comments
    assert comment.issue_id == issue.id
    assert len(comment.body.encode()) <= COMMENT_MAX_BYTES and comment.body.endswith(" end")
