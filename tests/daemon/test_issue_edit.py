"""Editing issues through the daemon's real routes: each edit one write with its events and
wake-ups; assigning queues, reassigning cancels the previous agent's pending task, closing
stops a running task through the cancel path; refusals say why and change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from hangar.proto import jsonrpc as rpc
from hangar.proto import methods
from hangar.proto.events import IssueUpdated, TaskFinished, TaskMessage, TaskQueued
from hangar.testing import InProcessDaemon, wait_for
from tests.daemon.helpers import make_agent, task_row

pytestmark = pytest.mark.usefixtures("migrated")


async def refused(hangar: InProcessDaemon, params: dict[str, Any]) -> rpc.RpcError:
    with pytest.raises(rpc.RpcError) as caught:
        await hangar.call(methods.ISSUE_UPDATE, params)
    return caught.value


async def tasks_of(hangar: InProcessDaemon, issue_id: str) -> list[dict[str, Any]]:
    return (await hangar.call(methods.TASKS_LIST, {"issue_id": issue_id}))["tasks"]


async def test_title_description_and_priority_change_in_one_event(
    hangar: InProcessDaemon,
) -> None:
    made = await hangar.call(methods.ISSUE_CREATE, {"title": "old", "description": "d"})
    events = await hangar.subscribe()

    row = await hangar.call(
        methods.ISSUE_UPDATE,
        {"issue_id": made["issue"]["id"], "title": " new ", "description": "", "priority": 2},
    )
    same = await hangar.call(methods.ISSUE_UPDATE, {"issue_id": row["id"], "title": "new"})

    assert (row["title"], row["description"], row["priority"]) == ("new", None, 2)
    assert same == row
    assert [type(e).__name__ for e in events.drain()] == ["IssueUpdated"]  # not for no change


async def test_reassigning_queues_for_the_new_agent_and_cancels_the_old_pending_task(
    hangar: InProcessDaemon,
) -> None:
    await make_agent(hangar, "first")
    second = await make_agent(hangar, "second")
    made = await hangar.call(methods.ISSUE_CREATE, {"title": "t", "assign": "first"})
    old = made["task"]["id"]
    events = await hangar.subscribe()
    hangar.daemon.signals.woken.clear()

    row = await hangar.call(
        methods.ISSUE_UPDATE, {"issue_id": made["issue"]["id"], "assign": "second"}
    )

    assert row["assignee"] == f"agent:{second['id']}"
    seen = events.drain()
    assert [type(e).__name__ for e in seen] == [
        "TaskFinished",
        "TaskMessage",
        "IssueUpdated",
        "TaskQueued",
    ]
    finished, message, updated, queued = seen
    assert isinstance(finished, TaskFinished) and finished.task_id == old
    assert finished.status == "cancelled" and finished.result == "cancelled"
    assert isinstance(message, TaskMessage) and "reassigned to agent second" in message.body
    assert isinstance(updated, IssueUpdated) and updated.issue.assignee == row["assignee"]
    assert isinstance(queued, TaskQueued) and queued.agent_id == second["id"]
    assert hangar.daemon.signals.woken.is_set()
    old_row = await task_row(hangar, old)
    assert old_row["result"]["error"].startswith("cancelled: issue")
    assert sorted(t["status"] for t in await tasks_of(hangar, row["id"])) == ["cancelled", "queued"]


async def test_the_cli_words_assign_unassign_close_reopen(hangar: InProcessDaemon) -> None:
    await make_agent(hangar, "bot")
    issue = (await hangar.call(methods.ISSUE_CREATE, {"title": "t"}))["issue"]
    assigned = await hangar.call(methods.ISSUE_UPDATE, {"issue_id": issue["id"], "assign": "bot"})
    unassigned = await hangar.call(
        methods.ISSUE_UPDATE, {"issue_id": issue["id"], "unassign": True}
    )
    closed = await hangar.call(
        methods.ISSUE_UPDATE, {"issue_id": issue["id"], "state": "cancelled"}
    )
    reopened = await hangar.call(methods.ISSUE_UPDATE, {"issue_id": issue["id"], "state": "open"})

    assert assigned["assignee"].startswith("agent:") and unassigned["assignee"] is None
    assert (closed["state"], reopened["state"]) == ("cancelled", "open")
    [task] = await tasks_of(hangar, issue["id"])
    assert task["status"] == "cancelled"  # the unassign cancelled it


async def test_closing_stops_the_running_task_through_the_cancel_path(
    hangar: InProcessDaemon,
) -> None:
    await make_agent(hangar, "slow", ["sleep", "60"])
    made = await hangar.call(methods.ISSUE_CREATE, {"title": "t", "assign": "slow"})
    task_id = made["task"]["id"]
    await hangar.dispatcher.refresh_runtimes()
    await hangar.dispatcher.fill_slots()

    async def running() -> bool:
        return (await task_row(hangar, task_id))["status"] == "running"

    await wait_for(running, timeout=20)
    events = await hangar.subscribe()

    row = await hangar.call(
        methods.ISSUE_UPDATE, {"issue_id": made["issue"]["id"], "state": "done"}
    )

    assert row["state"] == "done"
    # the answer waited for this daemon's run to stop and finalize
    task = await task_row(hangar, task_id)
    assert (task["status"], task["failure_reason"]) == ("cancelled", "user_cancel")
    names = [type(e).__name__ for e in events.drain()]
    assert names[:2] == ["TaskMessage", "IssueUpdated"] and "TaskFinished" in names
    assert (await hangar.call(methods.ISSUE_GET, {"issue_id": row["id"]}))["issue"]["state"] == (
        "done"
    )
    await hangar.dispatcher.drain(timeout=20)


async def test_a_refused_move_says_which_are_allowed_and_changes_nothing(
    hangar: InProcessDaemon,
) -> None:
    issue = (await hangar.call(methods.ISSUE_CREATE, {"title": "t"}))["issue"]
    await hangar.call(methods.ISSUE_UPDATE, {"issue_id": issue["id"], "state": "done"})
    events = await hangar.subscribe()

    err = await refused(hangar, {"issue_id": issue["id"], "state": "cancelled", "title": "x"})

    assert err.code == rpc.INVALID_PARAMS
    assert "from done it can go to open" in err.message
    got = (await hangar.call(methods.ISSUE_GET, {"issue_id": issue["id"]}))["issue"]
    assert (got["state"], got["title"]) == ("done", "t")
    assert events.drain() == []


@pytest.mark.parametrize(
    ("params", "code", "needle"),
    [
        ({"state": "closed"}, rpc.INVALID_PARAMS, "state"),
        ({"assign": "nobody"}, rpc.NOT_FOUND, "agent not found: nobody"),
        ({"title": " "}, rpc.INVALID_PARAMS, "title must not be empty"),
        ({"title": "x" * 501}, rpc.INVALID_PARAMS, "limit is 500"),
        ({"description": "x" * (100 * 1024 + 1)}, rpc.INVALID_PARAMS, "100 KiB"),
        ({"assign": "bot", "unassign": True}, rpc.INVALID_PARAMS, "unassign"),
        ({"priority": 7}, rpc.INVALID_PARAMS, "priority"),
        ({}, rpc.INVALID_PARAMS, "nothing to change"),
    ],
)
async def test_bad_edits_are_clear_errors_and_write_nothing(
    hangar: InProcessDaemon, params: dict[str, Any], code: int, needle: str
) -> None:
    await make_agent(hangar, "bot")
    issue = (await hangar.call(methods.ISSUE_CREATE, {"title": "t"}))["issue"]

    err = await refused(hangar, {"issue_id": issue["id"], **params})

    assert err.code == code and needle in err.message, err.message
    assert (await hangar.call(methods.ISSUE_GET, {"issue_id": issue["id"]}))["issue"] == issue
    assert await hangar.call(methods.PING) == {}  # serving on


async def test_another_workspaces_issue_answers_like_a_missing_one(
    hangar: InProcessDaemon,
) -> None:
    await hangar.call(methods.WORKSPACE_CREATE, {"slug": "other"})
    theirs = (await hangar.call(methods.ISSUE_CREATE, {"title": "t", "workspace_id": "other"}))[
        "issue"
    ]
    foreign = await refused(hangar, {"issue_id": theirs["id"], "title": "mine"})
    missing = await refused(hangar, {"issue_id": "01JZZZZZZZZZZZZZZZZZZZZZZZ", "title": "mine"})
    assert foreign.code == missing.code == rpc.NOT_FOUND
    assert foreign.message.replace(theirs["id"], "X") == missing.message.replace(
        "01JZZZZZZZZZZZZZZZZZZZZZZZ", "X"
    )
