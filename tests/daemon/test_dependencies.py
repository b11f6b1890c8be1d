"""Issue dependencies through the daemon's real routes (docs/lifecycle.md#dependencies): every
way a blocker ends (done, failed, cancelled, closed, deleted, retried) and every wake path
(finalize, retry, autopilot, reassignment, board move), with the events each one announces;
bad input refused with nothing half-written."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, func, select

from hangar.core.clock import FixedClock
from hangar.core.failures import FailureReason
from hangar.proto import jsonrpc as rpc
from hangar.proto import methods
from hangar.proto.events import DependencyStranded, IssueUpdated, TaskQueued
from hangar.proto.rows import TaskRow
from hangar.store.schema import agent_task_queue, issue, issue_dependency
from hangar.store.sweeper import QUEUED_TTL_MS
from hangar.testing import InProcessDaemon
from tests.daemon.helpers import make_agent

pytestmark = pytest.mark.usefixtures("migrated")


async def create(
    hangar: InProcessDaemon, title: str, *, assign: str | None = "bot", by: list[str] | None = None
) -> dict[str, Any]:
    params: dict[str, Any] = {"title": title, "blocked_by": by or []}
    if assign is not None:
        params["assign"] = assign
    return await hangar.call(methods.ISSUE_CREATE, params)


async def refused(hangar: InProcessDaemon, method: str, params: dict[str, Any]) -> rpc.RpcError:
    with pytest.raises(rpc.RpcError) as caught:
        await hangar.call(method, params)
    return caught.value


async def tasks_of(hangar: InProcessDaemon, issue_id: str) -> list[dict[str, Any]]:
    return (await hangar.call(methods.TASKS_LIST, {"issue_id": issue_id}))["tasks"]


async def shown(hangar: InProcessDaemon, issue_id: str) -> dict[str, Any]:
    return await hangar.call(methods.ISSUE_GET, {"issue_id": issue_id})


async def running(hangar: InProcessDaemon, task_id: str) -> TaskRow:
    """The queued task, dispatched and started by hand (what a claim and a spawn do)."""
    ws = (await hangar.store.workspace_default()).id
    await hangar.store.task_transition(ws, task_id, "dispatched")
    task = await hangar.store.task_get(ws, task_id)
    assert task is not None
    change = await hangar.lifecycle.start(task, work_dir=None)
    assert change.task is not None
    return change.task


async def finish(hangar: InProcessDaemon, task_id: str, how: str) -> None:
    task = await running(hangar, task_id)
    if how == "done":
        await hangar.lifecycle.complete(task, result=None, session_id=None)
    elif how == "failed":  # not retryable: the end of it
        await hangar.lifecycle.fail(task, FailureReason.AGENT_ERROR)
    elif how == "offline":  # retryable while attempts remain
        await hangar.lifecycle.fail(task, FailureReason.RUNTIME_OFFLINE)
    else:
        assert how == "cancelled"
        await hangar.lifecycle.finish_cancelled(task)


@pytest.fixture
async def bot(hangar: InProcessDaemon) -> dict[str, Any]:
    return await make_agent(hangar, "bot")


@pytest.fixture
async def pair(hangar: InProcessDaemon, bot: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(the blocker's create answer, the dependent's id): B assigned and queued, A waiting."""
    b = await create(hangar, "B")
    a = await create(hangar, "A", by=[b["issue"]["id"]])
    assert a["task"] is None
    return b, a["issue"]["id"]


async def test_create_blocked_queues_nothing_and_says_why(
    hangar: InProcessDaemon, pair: tuple[dict[str, Any], str]
) -> None:
    b, a = pair
    bid = b["issue"]["id"]
    detail = await shown(hangar, a)
    assert detail["issue"]["blocked"] == f"blocked by {bid}"
    assert detail["tasks"] == []
    [blocker] = detail["blockers"]
    assert (blocker["issue_id"], blocker["title"], blocker["state"]) == (bid, "B", "open")
    assert (blocker["standing"], blocker["last_task"]) == ("pending", "queued")
    [dependent] = (await shown(hangar, bid))["dependents"]
    assert dependent["issue_id"] == a
    listed = {i["id"]: i["blocked"] for i in (await hangar.call(methods.ISSUES_LIST))["issues"]}
    assert listed == {a: f"blocked by {bid}", bid: None}
    blocked = (await hangar.call(methods.ISSUES_LIST, {"blocked": True}))["issues"]
    ready = (await hangar.call(methods.ISSUES_LIST, {"blocked": False}))["issues"]
    assert [i["id"] for i in blocked] == [a]
    assert [i["id"] for i in ready] == [bid]


async def test_the_last_blocker_done_queues_the_task_once(
    hangar: InProcessDaemon, bot: dict[str, Any]
) -> None:
    b1, b2 = await create(hangar, "B1"), await create(hangar, "B2")
    a = (await create(hangar, "A", by=[b1["issue"]["id"], b2["issue"]["id"]]))["issue"]["id"]
    events = await hangar.subscribe()

    await finish(hangar, b1["task"]["id"], "done")
    assert await tasks_of(hangar, a) == []  # B2 still open
    assert (await shown(hangar, a))["issue"]["blocked"] == f"blocked by {b2['issue']['id']}"
    await finish(hangar, b2["task"]["id"], "done")

    [task] = await tasks_of(hangar, a)
    assert task["status"] == "queued" and task["agent_id"] == bot["id"]
    queued = [e for e in events.drain() if isinstance(e, TaskQueued) and e.issue_id == a]
    assert [e.task_id for e in queued] == [task["id"]]
    assert (await shown(hangar, a))["issue"]["blocked"] is None


async def test_a_failed_blocker_strands_the_dependent_and_a_retry_rearms_it(
    hangar: InProcessDaemon, pair: tuple[dict[str, Any], str]
) -> None:
    b, a = pair
    bid = b["issue"]["id"]
    events = await hangar.subscribe()

    await finish(hangar, b["task"]["id"], "failed")

    assert (await shown(hangar, a))["issue"]["blocked"] == f"blocked: {bid} failed"
    assert await tasks_of(hangar, a) == []
    seen = events.drain()
    updated = [e for e in seen if isinstance(e, IssueUpdated) and e.issue.id == a]
    assert [u.issue.blocked for u in updated] == [f"blocked: {bid} failed"]
    stranded = [e for e in seen if isinstance(e, DependencyStranded)]
    assert stranded == [
        DependencyStranded(issue_id=a, issue_title="A", blocker_id=bid, standing="failed")
    ]
    assert [
        i["id"] for i in (await hangar.call(methods.ISSUES_LIST, {"blocked": True}))["issues"]
    ] == [a]

    child = await hangar.call(methods.TASK_RETRY, {"task_id": b["task"]["id"]})
    assert (await shown(hangar, a))["issue"]["blocked"] == f"blocked by {bid}"  # re-armed
    rearmed = [e for e in events.drain() if isinstance(e, IssueUpdated) and e.issue.id == a]
    assert rearmed[-1].issue.blocked == f"blocked by {bid}"  # announced, not only shown
    await finish(hangar, child["id"], "done")
    assert [t["status"] for t in await tasks_of(hangar, a)] == ["queued"]


async def test_a_retryable_failure_of_the_blocker_strands_nobody(
    hangar: InProcessDaemon, pair: tuple[dict[str, Any], str]
) -> None:
    b, a = pair
    events = await hangar.subscribe()
    await finish(hangar, b["task"]["id"], "offline")  # a retry child is queued
    assert not [e for e in events.drain() if isinstance(e, DependencyStranded)]
    assert (await shown(hangar, a))["issue"]["blocked"] == f"blocked by {b['issue']['id']}"


async def test_a_cancelled_blocker_strands_and_unblock_queues_at_once(
    hangar: InProcessDaemon, pair: tuple[dict[str, Any], str]
) -> None:
    b, a = pair
    bid = b["issue"]["id"]
    events = await hangar.subscribe()

    await finish(hangar, b["task"]["id"], "cancelled")
    assert (await shown(hangar, a))["issue"]["blocked"] == f"blocked: {bid} cancelled"
    assert [type(e).__name__ for e in events.drain() if isinstance(e, DependencyStranded)] == [
        "DependencyStranded"
    ]

    out = await hangar.call(methods.ISSUE_UNBLOCK, {"issue_id": a, "by": bid})
    assert out["changed"] is True and out["issue"]["blocked"] is None
    assert out["task"] is not None and out["task"]["status"] == "queued"
    again = await hangar.call(methods.ISSUE_UNBLOCK, {"issue_id": a, "by": bid})
    assert again["changed"] is False and again["task"] is None
    assert [t["id"] for t in await tasks_of(hangar, a)] == [out["task"]["id"]]  # never twice
    queued = [e for e in events.drain() if isinstance(e, TaskQueued) and e.issue_id == a]
    assert len(queued) == 1


async def test_a_queued_blocker_cancelled_by_hand_strands_too(
    hangar: InProcessDaemon, pair: tuple[dict[str, Any], str]
) -> None:
    b, a = pair
    events = await hangar.subscribe()
    await hangar.call(methods.TASK_CANCEL, {"task_id": b["task"]["id"]})
    assert (await shown(hangar, a))["issue"]["blocked"] == f"blocked: {b['issue']['id']} cancelled"
    assert any(isinstance(e, DependencyStranded) for e in events.drain())


async def test_a_blocker_closed_as_cancelled_strands_and_done_by_hand_wakes(
    hangar: InProcessDaemon, pair: tuple[dict[str, Any], str]
) -> None:
    b, a = pair
    bid = b["issue"]["id"]
    events = await hangar.subscribe()

    await hangar.call(methods.ISSUE_UPDATE, {"issue_id": bid, "state": "cancelled"})
    assert (await shown(hangar, a))["issue"]["blocked"] == f"blocked: {bid} cancelled"
    stranded = [e for e in events.drain() if isinstance(e, DependencyStranded)]
    assert [(e.issue_id, e.blocker_id, e.standing) for e in stranded] == [(a, bid, "cancelled")]

    await hangar.call(methods.ISSUE_UPDATE, {"issue_id": bid, "state": "open"})
    assert (await shown(hangar, a))["issue"]["blocked"] == f"blocked: {bid} cancelled"
    await hangar.call(methods.ISSUE_UPDATE, {"issue_id": bid, "state": "done"})
    assert [t["status"] for t in await tasks_of(hangar, a)] == ["queued"]


async def test_a_deleted_blocker_strands_and_unblock_by_its_id_rearms(
    hangar: InProcessDaemon, pair: tuple[dict[str, Any], str]
) -> None:
    b, a = pair
    bid = b["issue"]["id"]
    async with hangar.store.engine.begin() as conn:  # no command deletes issues yet
        await conn.execute(delete(agent_task_queue).where(agent_task_queue.c.issue_id == bid))
        await conn.execute(delete(issue).where(issue.c.id == bid))
    detail = await shown(hangar, a)
    assert detail["issue"]["blocked"] == f"blocked: {bid} deleted"
    assert detail["blockers"][0]["standing"] == "deleted"
    assert detail["blockers"][0]["title"] is None

    out = await hangar.call(methods.ISSUE_UNBLOCK, {"issue_id": a, "by": bid})
    assert out["changed"] is True and out["task"]["status"] == "queued"


async def test_no_wake_path_starts_a_blocked_issue(
    hangar: InProcessDaemon, pair: tuple[dict[str, Any], str]
) -> None:
    """A ran once (its blocker was done), then its blocker reopened: A is blocked again, and
    neither the automatic retry, a manual retry, a board move, nor a reassignment starts it."""
    b, a = pair
    bid = b["issue"]["id"]
    await finish(hangar, b["task"]["id"], "done")
    [a_task] = await tasks_of(hangar, a)
    started = await running(hangar, a_task["id"])
    await hangar.call(methods.ISSUE_UPDATE, {"issue_id": bid, "state": "open"})

    # the finalize's automatic retry: a retryable failure, attempts left, and still no child
    await hangar.lifecycle.fail(started, FailureReason.RUNTIME_OFFLINE)
    assert [t["status"] for t in await tasks_of(hangar, a)] == ["failed"]

    retry = await refused(hangar, methods.TASK_RETRY, {"task_id": a_task["id"]})
    move = await refused(
        hangar, methods.TASK_TRANSITION, {"task_id": a_task["id"], "to_status": "queued"}
    )
    board = await refused(hangar, methods.ISSUE_UPDATE, {"issue_id": a, "state": "in_progress"})
    for err in (retry, move, board):
        assert err.code == rpc.CONFLICT
        assert f"blocked by {bid}" in err.message, err.message

    other = await make_agent(hangar, "other")
    row = await hangar.call(methods.ISSUE_UPDATE, {"issue_id": a, "assign": "other"})
    assert row["assignee"] == f"agent:{other['id']}"
    assert row["blocked"] == f"blocked by {bid}"
    assert [t["status"] for t in await tasks_of(hangar, a)] == ["failed"]  # nothing queued

    await hangar.call(methods.ISSUE_UPDATE, {"issue_id": bid, "state": "done"})
    [queued] = [t for t in await tasks_of(hangar, a) if t["status"] == "queued"]
    assert queued["agent_id"] == other["id"]


async def test_an_autopilot_cannot_start_a_blocked_issue(
    hangar: InProcessDaemon, pair: tuple[dict[str, Any], str]
) -> None:
    """An autopilot in issue mode files a fresh issue, which has no blockers; there is no way
    to point it at an existing (blocked) one, so that one stays without a task."""
    _, a = pair
    params = {
        "name": "nightly",
        "agent": "bot",
        "cron": "0 3 * * *",
        "instructions": "do it",
        "mode": "issue",
    }
    await hangar.call(methods.AUTOPILOT_CREATE, params)
    out = await hangar.call(methods.AUTOPILOT_RUN, {"autopilot": "nightly"})
    fresh = await shown(hangar, out["issue_id"])
    assert fresh["issue"]["blocked"] is None and fresh["blockers"] == []
    assert [t["status"] for t in fresh["tasks"]] == ["queued"]
    assert await tasks_of(hangar, a) == []


async def test_assigning_a_blocked_issue_queues_nothing(
    hangar: InProcessDaemon, bot: dict[str, Any]
) -> None:
    b = await create(hangar, "B", assign=None)
    a = await create(hangar, "A", assign=None, by=[b["issue"]["id"]])
    row = await hangar.call(methods.ISSUE_UPDATE, {"issue_id": a["issue"]["id"], "assign": "bot"})
    assert row["blocked"] == f"blocked by {b['issue']['id']}"
    assert await tasks_of(hangar, a["issue"]["id"]) == []


async def test_block_and_unblock_by_hand(hangar: InProcessDaemon, bot: dict[str, Any]) -> None:
    b = await create(hangar, "B", assign=None)
    a = await create(hangar, "A", assign=None)
    aid, bid = a["issue"]["id"], b["issue"]["id"]
    events = await hangar.subscribe()

    out = await hangar.call(methods.ISSUE_BLOCK, {"issue_id": aid, "by": bid})
    assert out["changed"] is True and out["issue"]["blocked"] == f"blocked by {bid}"
    again = await hangar.call(methods.ISSUE_BLOCK, {"issue_id": aid, "by": bid})
    assert again["changed"] is False
    updated = [e for e in events.drain() if isinstance(e, IssueUpdated)]
    assert [u.issue.blocked for u in updated] == [f"blocked by {bid}"]  # one edge, one event

    # unblocking an unassigned issue queues nothing; an assigned one is queued at once
    none = await hangar.call(methods.ISSUE_UNBLOCK, {"issue_id": aid, "by": bid})
    assert none["changed"] is True and none["task"] is None
    await hangar.call(methods.ISSUE_BLOCK, {"issue_id": aid, "by": bid})
    await hangar.call(methods.ISSUE_UPDATE, {"issue_id": aid, "assign": "bot"})
    assert await tasks_of(hangar, aid) == []
    out = await hangar.call(methods.ISSUE_UNBLOCK, {"issue_id": aid, "by": bid})
    assert out["task"]["status"] == "queued"


async def test_blocking_an_issue_with_a_queued_task_is_refused(
    hangar: InProcessDaemon, bot: dict[str, Any]
) -> None:
    b = await create(hangar, "B", assign=None)
    a = await create(hangar, "A")
    err = await refused(
        hangar, methods.ISSUE_BLOCK, {"issue_id": a["issue"]["id"], "by": b["issue"]["id"]}
    )
    assert err.code == rpc.CONFLICT
    assert a["task"]["id"] in err.message and "cancel it first" in err.message
    assert (await shown(hangar, a["issue"]["id"]))["blockers"] == []  # nothing written
    # a blocker that is done already blocks nothing, so that edge is fine
    await hangar.call(methods.ISSUE_UPDATE, {"issue_id": b["issue"]["id"], "state": "done"})
    out = await hangar.call(
        methods.ISSUE_BLOCK, {"issue_id": a["issue"]["id"], "by": b["issue"]["id"]}
    )
    assert out["changed"] is True and out["issue"]["blocked"] is None


async def _counts(hangar: InProcessDaemon) -> tuple[int, int, int]:
    async with hangar.store.engine.connect() as conn:
        out = []
        for table in (issue, issue_dependency, agent_task_queue):
            count = await conn.scalar(select(func.count()).select_from(table))
            out.append(int(count or 0))
    return out[0], out[1], out[2]


async def test_bad_edges_are_refused_and_write_nothing(
    hangar: InProcessDaemon, bot: dict[str, Any]
) -> None:
    a, b, c = [(await create(hangar, t, assign=None))["issue"]["id"] for t in "ABC"]
    await hangar.call(methods.ISSUE_BLOCK, {"issue_id": a, "by": b})
    await hangar.call(methods.ISSUE_BLOCK, {"issue_id": b, "by": c})
    await hangar.call(methods.WORKSPACE_CREATE, {"slug": "other"})
    foreign = (await hangar.call(methods.ISSUE_CREATE, {"workspace_id": "other", "title": "F"}))[
        "issue"
    ]["id"]
    before = await _counts(hangar)

    cycle = await refused(hangar, methods.ISSUE_BLOCK, {"issue_id": c, "by": a})
    assert cycle.code == rpc.INVALID_PARAMS
    assert cycle.message == f"dependency cycle: {c} -> {a} -> {b} -> {c}"
    itself = await refused(hangar, methods.ISSUE_BLOCK, {"issue_id": a, "by": a})
    assert itself.code == rpc.INVALID_PARAMS and "cannot block itself" in itself.message
    missing = await refused(hangar, methods.ISSUE_BLOCK, {"issue_id": a, "by": "nope"})
    alien = await refused(hangar, methods.ISSUE_BLOCK, {"issue_id": a, "by": foreign})
    assert (missing.code, alien.code) == (rpc.NOT_FOUND, rpc.NOT_FOUND)
    assert alien.message == missing.message.replace("nope", foreign)
    gone = await refused(hangar, methods.ISSUE_UNBLOCK, {"issue_id": a, "by": foreign})
    assert gone.code == rpc.NOT_FOUND and gone.message == alien.message
    for bad in (["nope"], [b, foreign], [a, "nope"]):
        err = await refused(
            hangar, methods.ISSUE_CREATE, {"title": "X", "assign": "bot", "blocked_by": bad}
        )
        assert err.code == rpc.NOT_FOUND
    empty = await refused(hangar, methods.ISSUE_CREATE, {"title": "X", "blocked_by": [" "]})
    assert empty.code == rpc.INVALID_PARAMS
    assert await _counts(hangar) == before  # no issue, no edge, no task half-written


async def test_reopening_a_done_blocker_withdraws_a_dependents_queued_task(
    hangar: InProcessDaemon, pair: tuple[dict[str, Any], str]
) -> None:
    b, a = pair
    bid = b["issue"]["id"]
    await finish(hangar, b["task"]["id"], "done")
    [first] = await tasks_of(hangar, a)
    assert first["status"] == "queued"

    await hangar.call(methods.ISSUE_UPDATE, {"issue_id": bid, "state": "open"})
    assert [t["status"] for t in await tasks_of(hangar, a)] == ["cancelled"]
    assert (await shown(hangar, a))["issue"]["blocked"] == f"blocked by {bid}"

    await hangar.call(methods.ISSUE_UPDATE, {"issue_id": bid, "state": "done"})
    statuses = sorted(t["status"] for t in await tasks_of(hangar, a))
    assert statuses == ["cancelled", "queued"]


async def test_a_blocker_timed_out_by_the_sweeper_strands_the_dependent(
    hangar: InProcessDaemon, pair: tuple[dict[str, Any], str], clock: FixedClock
) -> None:
    b, a = pair
    events = await hangar.subscribe()
    clock.advance(QUEUED_TTL_MS + 1)  # the blocker's queued task outlives its time to live
    report = await hangar.lifecycle.sweep()
    assert [t.id for t in report.queued_timed_out] == [b["task"]["id"]]
    assert (await shown(hangar, a))["issue"]["blocked"] == f"blocked: {b['issue']['id']} failed"
    stranded = [e for e in events.drain() if isinstance(e, DependencyStranded)]
    assert [(e.issue_id, e.standing) for e in stranded] == [(a, "failed")]


async def test_closing_a_running_blocker_strands_once(
    hangar: InProcessDaemon, pair: tuple[dict[str, Any], str]
) -> None:
    """Closing asks the run to stop; its finalize afterwards is no second stranding."""
    b, a = pair
    task = await running(hangar, b["task"]["id"])
    events = await hangar.subscribe()
    await hangar.call(methods.ISSUE_UPDATE, {"issue_id": b["issue"]["id"], "state": "cancelled"})
    await hangar.lifecycle.finish_cancelled(task)
    stranded = [e for e in events.drain() if isinstance(e, DependencyStranded)]
    assert [(e.issue_id, e.standing) for e in stranded] == [(a, "cancelled")]
