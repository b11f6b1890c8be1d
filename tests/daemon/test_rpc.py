"""The RPC nouns through the daemon's real route table (no socket): what is routed, how
workspaces scope every id, how errors reach a client, and what each call refuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hangar.core.clock import FixedClock
from hangar.core.failures import FailureReason
from hangar.core.fsm import FinalizeKind, FinalizeOutcome, TaskStatus, UnknownState
from hangar.daemon.lifecycle import Refused
from hangar.daemon.rpc.common import merged
from hangar.daemon.rpc.issues import MAX_DESCRIPTION_BYTES
from hangar.daemon.sessions.errors import SessionError
from hangar.proto import calls, methods
from hangar.proto import jsonrpc as rpc
from hangar.proto.events import IssueCreated, TaskQueued, decode_event
from hangar.proto.framing import MAX_BODY_BYTES, encode_frame
from hangar.proto.routes import RouteTable
from hangar.store import Conflict, InvalidTransition, InvalidValue, NotFound
from hangar.testing import FakeConnection, InProcessDaemon, daemon_in_process
from tests.daemon.helpers import make_agent, runtime_ids, seed_home

pytestmark = pytest.mark.usefixtures("migrated")


def noun(method: str, raises: Exception | None = None) -> RouteTable[Any]:
    """A one-route table whose handler raises ``raises`` (or answers ``{}``)."""

    async def handler(conn: object, params: object) -> dict[str, Any]:
        if raises is not None:
            raise raises
        return {}

    table: RouteTable[Any] = RouteTable()
    table.add(method, None, handler)
    return table


async def refused(hangar: InProcessDaemon, method: str, params: dict[str, Any]) -> rpc.RpcError:
    with pytest.raises(rpc.RpcError) as caught:
        await hangar.call(method, params)
    return caught.value


async def failed_task(hangar: InProcessDaemon, agent: str = "ok") -> dict[str, Any]:
    """A task that ran and failed for good (agent_error); its issue is open again."""
    made = await hangar.call("hangar/issue_create", {"title": "t", "assign": agent})
    task = await hangar.lifecycle.claim(await runtime_ids(hangar))
    assert task is not None and task.id == made["task"]["id"]
    await hangar.lifecycle.start(task, work_dir=None)
    await hangar.lifecycle.fail(task, FailureReason.AGENT_ERROR)
    return (await hangar.call("hangar/task_get", {"task_id": task.id}))["task"]


async def running_task(hangar: InProcessDaemon, agent: str = "ok") -> dict[str, Any]:
    """A task marked running by hand (no process behind it)."""
    made = await hangar.call("hangar/issue_create", {"title": "t", "assign": agent})
    task = await hangar.lifecycle.claim(await runtime_ids(hangar))
    assert task is not None and task.id == made["task"]["id"]
    await hangar.lifecycle.start(task, work_dir=None)
    return (await hangar.call("hangar/task_get", {"task_id": task.id}))["task"]


# -- the table -------------------------------------------------------------------------------


def test_every_method_of_the_contract_is_routed_exactly_once(hangar: InProcessDaemon) -> None:
    contract = {
        value for name, value in vars(methods).items() if name.isupper() and isinstance(value, str)
    }
    expected = contract - {methods.AUTH_HELLO, methods.EVENT}

    assert sorted(hangar.routes.methods()) == sorted(expected)
    assert len(hangar.routes) == len(expected)
    assert methods.AUTH_HELLO not in hangar.routes  # the transport answers it, before routing


def test_a_method_defined_by_two_nouns_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        merged(noun("ping"), noun("ping"))


def test_every_route_takes_the_params_struct_of_the_contract(hangar: InProcessDaemon) -> None:
    for route in hangar.routes:
        assert route.params is calls.BY_METHOD[route.method].params, route.method


async def test_an_unknown_method_is_32601(hangar: InProcessDaemon) -> None:
    err = await refused(hangar, "hangar/nope", {})

    assert err.code == rpc.METHOD_NOT_FOUND
    assert err.message == "method not found: hangar/nope"


async def test_absent_params_are_empty_params(hangar: InProcessDaemon) -> None:
    assert await hangar.routes.dispatch(hangar.conn, methods.PING, None) == {}


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({}, "task_id"),
        ({"task_id": 7}, "task_id"),
        ({"task_id": "x", "verbose": True}, "verbose"),
        ({"task_id": "x", "workspace_id": ["default"]}, "workspace_id"),
    ],
)
async def test_bad_params_are_32602_naming_the_field(
    hangar: InProcessDaemon, params: dict[str, Any], named: str
) -> None:
    err = await refused(hangar, methods.TASK_GET, params)

    assert err.code == rpc.INVALID_PARAMS
    assert err.message.startswith("invalid params:")
    assert named in err.message


# -- error translation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raised", "code", "data"),
    [
        (NotFound("task", "t-1"), rpc.NOT_FOUND, None),
        (Conflict("a pending task already exists"), rpc.CONFLICT, None),
        (Refused("cannot cancel task t-1: it is done"), rpc.INVALID_PARAMS, None),
        (InvalidValue("priority must be 0..3, got 9"), rpc.INVALID_PARAMS, None),
        (
            InvalidTransition(
                FinalizeOutcome(FinalizeKind.ILLEGAL_STATE, TaskStatus.DONE, TaskStatus.QUEUED)
            ),
            rpc.INVALID_PARAMS,
            None,
        ),
        (UnknownState("finished"), rpc.INVALID_PARAMS, None),
        (ValueError("title must not be empty"), rpc.INVALID_PARAMS, None),
        (SessionError("not_found", "session not found: s"), rpc.NOT_FOUND, {"kind": "not_found"}),
        (SessionError("invalid_name", "bad name"), rpc.INVALID_PARAMS, {"kind": "invalid_name"}),
        (SessionError("name_taken", "taken"), rpc.CONFLICT, {"kind": "name_taken"}),
        (rpc.RpcError(rpc.UNAUTHORIZED, "no"), rpc.UNAUTHORIZED, None),
    ],
)
async def test_domain_errors_become_the_rpc_errors_a_client_acts_on(
    raised: Exception, code: int, data: Any
) -> None:
    table = merged(noun("x/y", raises=raised))
    with pytest.raises(rpc.RpcError) as caught:
        await table.dispatch(FakeConnection(), "x/y", {})

    assert caught.value.code == code
    said = raised.message if isinstance(raised, rpc.RpcError) else str(raised)
    assert caught.value.message == said
    assert caught.value.data == data


async def test_anything_else_is_not_disguised_as_a_client_error() -> None:
    table = merged(noun("x/y", raises=RuntimeError("bug")))
    with pytest.raises(RuntimeError, match="bug"):
        await table.dispatch(FakeConnection(), "x/y", {})


async def test_a_missing_row_is_32010(hangar: InProcessDaemon) -> None:
    err = await refused(hangar, methods.TASK_GET, {"task_id": "01NOSUCHTASK"})

    assert (err.code, err.message) == (rpc.NOT_FOUND, "task not found: 01NOSUCHTASK")


async def test_a_store_conflict_is_32011(hangar: InProcessDaemon) -> None:
    await make_agent(hangar)
    task = await failed_task(hangar)
    await hangar.call(methods.TASK_RETRY, {"task_id": task["id"]})

    err = await refused(hangar, methods.TASK_RETRY, {"task_id": task["id"]})  # one is pending

    assert err.code == rpc.CONFLICT
    assert "a pending task already exists" in err.message


# -- workspaces ------------------------------------------------------------------------------


@pytest.fixture
async def foreign(hangar: InProcessDaemon) -> dict[str, str]:
    """An agent, an issue and a queued task in a second workspace."""
    await hangar.call(methods.WORKSPACE_CREATE, {"slug": "other"})
    agent = await make_agent(hangar, "theirs", workspace_id="other")
    made = await hangar.call(
        methods.ISSUE_CREATE, {"workspace_id": "other", "title": "t", "assign": "theirs"}
    )
    await make_agent(hangar, "ours")  # the default workspace has an agent too
    return {
        "agent": agent["id"],
        "agent_name": "theirs",
        "issue": made["issue"]["id"],
        "task": made["task"]["id"],
    }


SCOPED_CALLS = [
    (methods.ISSUE_GET, {"issue_id": "{issue}"}),
    (methods.ISSUE_UPDATE, {"issue_id": "{issue}", "state": "done"}),
    (methods.TASK_GET, {"task_id": "{task}"}),
    (methods.TASK_MESSAGES, {"task_id": "{task}"}),
    (methods.TASK_CANCEL, {"task_id": "{task}"}),
    (methods.TASK_RETRY, {"task_id": "{task}"}),
    (methods.TASK_TRANSITION, {"task_id": "{task}", "to_status": "cancelled"}),
    (methods.AGENT_GET, {"agent": "{agent}"}),
    (methods.AGENT_GET, {"agent": "{agent_name}"}),
    (methods.ISSUE_CREATE, {"title": "t", "assign": "{agent}"}),
    (methods.ISSUE_CREATE, {"title": "t", "assign": "{agent_name}"}),
]


@pytest.mark.parametrize(("method", "template"), SCOPED_CALLS)
async def test_an_id_from_another_workspace_answers_exactly_like_a_missing_one(
    hangar: InProcessDaemon, foreign: dict[str, str], method: str, template: dict[str, str]
) -> None:
    missing = {k: f"{v[:-4]}9999" for k, v in foreign.items()}

    def fill(ids: dict[str, str]) -> dict[str, Any]:
        return {k: v.format(**ids) if isinstance(v, str) else v for k, v in template.items()}

    theirs = await refused(hangar, method, fill(foreign))
    nobodys = await refused(hangar, method, fill(missing))

    assert theirs.code == nobodys.code == rpc.NOT_FOUND
    said = theirs.message
    for key, value in foreign.items():
        said = said.replace(value, missing[key])
    assert said == nobodys.message
    assert theirs.data == nobodys.data
    # and the foreign rows are untouched
    task = await hangar.call(
        methods.TASK_GET, {"workspace_id": "other", "task_id": foreign["task"]}
    )
    assert task["task"]["status"] == "queued"
    issue = await hangar.call(
        methods.ISSUE_GET, {"workspace_id": "other", "issue_id": foreign["issue"]}
    )
    assert issue["issue"]["state"] == "open"


async def test_lists_never_show_another_workspaces_rows(
    hangar: InProcessDaemon, foreign: dict[str, str]
) -> None:
    assert (await hangar.call(methods.ISSUES_LIST, {}))["issues"] == []
    assert (await hangar.call(methods.TASKS_LIST, {}))["tasks"] == []
    assert (await hangar.call(methods.TASKS_LIST, {"issue_id": foreign["issue"]}))["tasks"] == []
    agents = (await hangar.call(methods.AGENTS_LIST, {}))["agents"]
    assert [a["name"] for a in agents] == ["ours"]
    theirs = (await hangar.call(methods.TASKS_LIST, {"workspace_id": "other"}))["tasks"]
    assert [t["id"] for t in theirs] == [foreign["task"]]


async def test_an_unknown_workspace_is_32010(hangar: InProcessDaemon) -> None:
    err = await refused(hangar, methods.ISSUES_LIST, {"workspace_id": "nowhere"})

    assert (err.code, err.message) == (rpc.NOT_FOUND, "workspace not found: nowhere")


async def test_workspace_create_validates_and_refuses_duplicates(hangar: InProcessDaemon) -> None:
    made = await hangar.call(methods.WORKSPACE_CREATE, {"slug": "team-a", "name": "Team A"})
    assert (made["slug"], made["name"]) == ("team-a", "Team A")

    bad = await refused(hangar, methods.WORKSPACE_CREATE, {"slug": "Team A"})
    again = await refused(hangar, methods.WORKSPACE_CREATE, {"slug": "team-a"})

    assert bad.code == rpc.INVALID_PARAMS and "invalid slug" in bad.message
    assert again.code == rpc.CONFLICT and "already exists" in again.message
    slugs = [w["slug"] for w in (await hangar.call(methods.WORKSPACE_LIST, {}))["workspaces"]]
    assert slugs.count("team-a") == 1


# -- paging ----------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [0, -1, 10_001])
async def test_task_lists_are_paged_within_bounds(hangar: InProcessDaemon, limit: int) -> None:
    err = await refused(hangar, methods.TASKS_LIST, {"limit": limit})

    assert err.code == rpc.INVALID_PARAMS
    assert "limit" in err.message


async def test_a_task_list_page_holds_at_most_limit_rows(hangar: InProcessDaemon) -> None:
    await make_agent(hangar, max_concurrent_tasks=8)
    for n in range(3):
        await hangar.call(methods.ISSUE_CREATE, {"title": f"t{n}", "assign": "ok"})

    page = (await hangar.call(methods.TASKS_LIST, {"limit": 2}))["tasks"]
    whole = (await hangar.call(methods.TASKS_LIST, {}))["tasks"]

    assert len(page) == 2
    assert len(whole) == 3


async def test_messages_page_after_a_seq(hangar: InProcessDaemon) -> None:
    await make_agent(hangar, "talker", ["sh", "-c", "for i in 1 2 3 4 5; do echo m$i; done"])
    made = await hangar.call(methods.ISSUE_CREATE, {"title": "t", "assign": "talker"})
    await hangar.dispatch()
    task_id = made["task"]["id"]

    pages, after = [], 0
    while True:
        got = await hangar.call(
            methods.TASK_MESSAGES, {"task_id": task_id, "after_seq": after, "limit": 2}
        )
        if not got["messages"]:
            break
        pages.append([m["body"] for m in got["messages"]])
        after = got["messages"][-1]["seq"]

    assert pages == [["m1", "m2"], ["m3", "m4"], ["m5"]]
    assert got["status"] == "done"
    for bad in ({"limit": 5001}, {"limit": 0}, {"after_seq": -1}):
        err = await refused(hangar, methods.TASK_MESSAGES, {"task_id": task_id, **bad})
        assert err.code == rpc.INVALID_PARAMS
        assert next(iter(bad)) in err.message


async def test_issue_list_filters_by_who_is_assigned(hangar: InProcessDaemon) -> None:
    await make_agent(hangar, "bot")
    await hangar.call(methods.ISSUE_CREATE, {"title": "the agent's", "assign": "bot"})
    await hangar.call(methods.ISSUE_CREATE, {"title": "nobody's"})

    async def titles(**params: Any) -> list[str]:
        return [i["title"] for i in (await hangar.call(methods.ISSUES_LIST, params))["issues"]]

    assert await titles(assigned="agents") == ["the agent's"]
    assert await titles(assigned="members") == []
    assert await titles(assigned="mine") == []
    assert await titles() == ["nobody's", "the agent's"]
    err = await refused(hangar, methods.ISSUES_LIST, {"assigned": "robots"})
    assert err.code == rpc.INVALID_PARAMS and "assigned" in err.message


async def test_issue_update_assigns_an_agent_and_queues_its_task(hangar: InProcessDaemon) -> None:
    await make_agent(hangar, "bot")
    issue = (await hangar.call(methods.ISSUE_CREATE, {"title": "later", "priority": 2}))["issue"]
    events = await hangar.subscribe()

    row = await hangar.call(methods.ISSUE_UPDATE, {"issue_id": issue["id"], "assign": "bot"})

    assert row["assignee"].startswith("agent:")
    tasks = (await hangar.call(methods.TASKS_LIST, {"issue_id": issue["id"]}))["tasks"]
    assert [(t["status"], t["priority"]) for t in tasks] == [("queued", 2)]
    assert events.names() == ["IssueUpdated", "TaskQueued"]
    # a second assignment while the task is pending changes nothing
    err = await refused(hangar, methods.ISSUE_UPDATE, {"issue_id": issue["id"], "assign": "bot"})
    assert err.code == rpc.CONFLICT
    assert len((await hangar.call(methods.TASKS_LIST, {"issue_id": issue["id"]}))["tasks"]) == 1
    # to a member: no task; unknown agents and issues are not found
    member = await hangar.call(
        methods.ISSUE_UPDATE, {"issue_id": issue["id"], "assign": row["creator"]}
    )
    assert member["assignee"] == row["creator"]
    for bad in (
        {"issue_id": issue["id"], "assign": "nobody"},
        {"issue_id": "nope", "assign": "bot"},
    ):
        assert (await refused(hangar, methods.ISSUE_UPDATE, bad)).code == rpc.NOT_FOUND


# -- issue create ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "code", "says"),
    [
        ({"title": "   "}, rpc.INVALID_PARAMS, "title must not be empty"),
        ({"title": "two\nlines"}, rpc.INVALID_PARAMS, "control character"),
        ({"title": "x" * 501}, rpc.INVALID_PARAMS, "the limit is 500"),
        ({"title": "t", "description": "a\x00b"}, rpc.INVALID_PARAMS, "NUL byte"),
        (
            {"title": "t", "description": "é" * (MAX_DESCRIPTION_BYTES // 2 + 1)},
            rpc.INVALID_PARAMS,
            "description is over 100 KiB",
        ),
        ({"title": "t", "priority": 4}, rpc.INVALID_PARAMS, "priority"),
        ({"title": "t", "assign": "nobody"}, rpc.NOT_FOUND, "agent not found: nobody"),
        ({"title": "t", "repo_path": "/nonexistent/repo"}, rpc.INVALID_PARAMS, "/nonexistent"),
    ],
)
async def test_issue_create_refuses_bad_input_and_creates_nothing(
    hangar: InProcessDaemon, params: dict[str, Any], code: int, says: str
) -> None:
    events = await hangar.subscribe()

    err = await refused(hangar, methods.ISSUE_CREATE, params)

    assert err.code == code
    assert says in err.message
    assert (await hangar.call(methods.ISSUES_LIST, {}))["issues"] == []
    assert events.names() == []


async def test_a_description_of_exactly_100_kib_is_accepted(hangar: InProcessDaemon) -> None:
    text = "x" * MAX_DESCRIPTION_BYTES

    made = await hangar.call(methods.ISSUE_CREATE, {"title": "  big  ", "description": text})

    assert made["issue"]["title"] == "big"
    assert len(made["issue"]["description"]) == MAX_DESCRIPTION_BYTES
    assert made["task"] is None


async def test_an_assigned_issue_answers_with_its_queued_task(hangar: InProcessDaemon) -> None:
    agent = await make_agent(hangar)

    made = await hangar.call(methods.ISSUE_CREATE, {"title": "t", "assign": "ok", "priority": 2})

    assert made["task"]["status"] == "queued"
    assert (made["task"]["agent_id"], made["task"]["priority"]) == (agent["id"], 2)
    assert made["issue"]["assignee"] == f"agent:{agent['id']}"


# -- agent create ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "code", "says"),
    [
        ({"name": "-x", "provider": "command", "command": ["true"]}, -32602, "invalid agent name"),
        ({"name": "a", "provider": "command"}, -32602, "needs --command"),
        ({"name": "a", "provider": "command", "command": []}, -32602, "needs --command"),
        ({"name": "a", "provider": "claude", "command": []}, -32602, "must not be empty"),
        ({"name": "a", "provider": "robot", "command": ["true"]}, -32602, "unknown agent provider"),
        (
            {"name": "a", "provider": "command", "command": ["no-such-agent-cli-x"]},
            -32602,
            "'no-such-agent-cli-x' is not installed",
        ),
        (
            {"name": "a", "provider": "command", "command": ["true"], "max_concurrent_tasks": 0},
            -32602,
            "max_concurrent_tasks",
        ),
        (
            {"name": "a", "provider": "command", "command": ["true"], "max_concurrent_tasks": 65},
            -32602,
            "max_concurrent_tasks",
        ),
        (
            {"name": "a", "provider": "command", "command": ["true"], "inactivity_timeout_ms": 0},
            -32602,
            "inactivity_timeout_ms",
        ),
        (
            {"name": "a", "provider": "command", "command": ["true"], "max_runtime_ms": -5},
            -32602,
            "max_runtime_ms",
        ),
        (
            {"name": "a", "provider": "command", "command": ["true"], "repo_path": "/nonexistent"},
            -32602,
            "/nonexistent",
        ),
    ],
)
async def test_agent_create_refuses_bad_input_and_creates_nothing(
    hangar: InProcessDaemon, params: dict[str, Any], code: int, says: str
) -> None:
    err = await refused(hangar, methods.AGENT_CREATE, params)

    assert err.code == code
    assert says in err.message
    assert (await hangar.call(methods.AGENTS_LIST, {}))["agents"] == []


async def test_an_agent_name_is_taken_once_per_workspace(hangar: InProcessDaemon) -> None:
    await make_agent(hangar, "dup")

    err = await refused(
        hangar, methods.AGENT_CREATE, {"name": "dup", "provider": "command", "command": ["true"]}
    )
    await hangar.call(methods.WORKSPACE_CREATE, {"slug": "other"})
    elsewhere = await make_agent(hangar, "dup", workspace_id="other")

    assert (err.code, err.message) == (rpc.CONFLICT, "agent 'dup' already exists")
    assert elsewhere["name"] == "dup"


async def test_an_agent_is_found_by_name_or_id_and_listed_with_its_actor(
    hangar: InProcessDaemon,
) -> None:
    agent = await make_agent(hangar, "finder", model="m-1")

    by_name = await hangar.call(methods.AGENT_GET, {"agent": "finder"})
    by_id = await hangar.call(methods.AGENT_GET, {"agent": agent["id"]})
    listed = await hangar.call(methods.AGENTS_LIST, {})

    assert by_name == by_id == agent
    you, actor = listed["actors"]
    assert (you["display_name"], you["is_agent"]) == ("you", False)
    assert you["actor_ref"].startswith("member:")
    assert (actor["actor_ref"], actor["subtitle"]) == (f"agent:{agent['id']}", "command · m-1")
    assert actor["presence"] == "online"  # its runtime belongs to this (running) daemon
    await hangar.store.runtimes_mark_offline(hangar.daemon.daemon_id)
    [_, gone] = (await hangar.call(methods.AGENTS_LIST, {}))["actors"]
    assert gone["presence"] == "offline"


# -- task transitions by hand ----------------------------------------------------------------


async def test_task_transition_refusals_say_why(hangar: InProcessDaemon) -> None:
    await make_agent(hangar, max_concurrent_tasks=8)
    run = await running_task(hangar)
    failed = await failed_task(hangar)

    to_done = await refused(
        hangar, methods.TASK_TRANSITION, {"task_id": run["id"], "to_status": "done"}
    )
    unknown = await refused(
        hangar, methods.TASK_TRANSITION, {"task_id": run["id"], "to_status": "finished"}
    )
    cancel_failed = await refused(
        hangar, methods.TASK_TRANSITION, {"task_id": failed["id"], "to_status": "cancelled"}
    )

    assert to_done.code == rpc.INVALID_PARAMS
    assert to_done.message == (
        "illegal transition running -> done: only cancel, or re-queue a failed or cancelled "
        "task, can be done by hand"
    )
    assert unknown.code == rpc.INVALID_PARAMS and "to_status" in unknown.message
    assert cancel_failed.code == rpc.INVALID_PARAMS
    assert cancel_failed.message == f"cannot cancel task {failed['id']}: it is failed"
    row = await hangar.call(methods.TASK_GET, {"task_id": run["id"]})
    assert row["task"]["status"] == "running"


async def test_a_failed_task_moved_back_to_queued_is_retried(hangar: InProcessDaemon) -> None:
    await make_agent(hangar)
    failed = await failed_task(hangar)

    answer = await hangar.call(
        methods.TASK_TRANSITION, {"task_id": failed["id"], "to_status": "queued"}
    )

    assert answer == {}
    queued = (await hangar.call(methods.TASKS_LIST, {"status": "queued"}))["tasks"]
    assert [(t["parent_task_id"], t["attempt"]) for t in queued] == [(failed["id"], 2)]


async def test_cancel_of_a_task_run_elsewhere_answers_with_the_marked_row(
    hangar: InProcessDaemon, clock: FixedClock
) -> None:
    await make_agent(hangar)
    run = await running_task(hangar)  # not run by this daemon's dispatcher

    row = await hangar.call(methods.TASK_CANCEL, {"task_id": run["id"]})

    assert row["status"] == "running"
    assert row["cancel_requested_at"] == clock.now_ms()


async def test_retry_refusal_says_why(hangar: InProcessDaemon) -> None:
    await make_agent(hangar)
    run = await running_task(hangar)

    err = await refused(hangar, methods.TASK_RETRY, {"task_id": run["id"]})

    assert (err.code, err.message) == (
        rpc.INVALID_PARAMS,
        f"cannot retry task {run['id']}: it is running",
    )


async def test_tasks_list_refuses_an_unknown_status(hangar: InProcessDaemon) -> None:
    err = await refused(hangar, methods.TASKS_LIST, {"status": "finished"})

    assert err.code == rpc.INVALID_PARAMS and "status" in err.message


async def test_issue_update_moves_state_and_priority_and_announces_it(
    hangar: InProcessDaemon,
) -> None:
    made = await hangar.call(methods.ISSUE_CREATE, {"title": "t"})
    events = await hangar.subscribe()

    row = await hangar.call(
        methods.ISSUE_UPDATE, {"issue_id": made["issue"]["id"], "state": "done", "priority": 1}
    )
    bad = await refused(
        hangar, methods.ISSUE_UPDATE, {"issue_id": made["issue"]["id"], "state": "closed"}
    )

    assert (row["state"], row["priority"]) == ("done", 1)
    assert events.names() == ["IssueUpdated"]
    assert bad.code == rpc.INVALID_PARAMS and "state" in bad.message


# -- health ----------------------------------------------------------------------------------


@pytest.fixture
async def one_slot(
    tmp_path: Path, clock: FixedClock, migrated_db: Path
) -> AsyncIterator[InProcessDaemon]:
    home = seed_home(tmp_path / "h1", migrated_db)
    async with daemon_in_process(home, clock=clock, env={"HANGAR_MAX_SLOTS": "1"}) as d:
        yield d


async def test_daemon_health_reports_slots_and_queue(one_slot: InProcessDaemon) -> None:
    hangar = one_slot
    await make_agent(hangar, "sleepy", ["sleep", "60"], max_concurrent_tasks=4)
    await make_agent(hangar, "ok")
    for _ in range(2):
        await hangar.call(methods.ISSUE_CREATE, {"title": "t", "assign": "sleepy"})

    idle = await hangar.call(methods.DAEMON_HEALTH, {})
    assert (idle["slots_total"], idle["slots_used"]) == (1, 0)
    assert (idle["queued_tasks"], idle["concurrent_tasks"]) == (2, 0)
    assert len(idle["runtimes"]) == 1
    assert len(idle["success_ring"]) == len(idle["failure_ring"]) == 60

    await hangar.dispatcher.fill_slots()
    busy = await hangar.call(methods.DAEMON_HEALTH, {})
    assert (busy["slots_used"], busy["concurrent_tasks"], busy["queued_tasks"]) == (1, 1, 1)

    await hangar.dispatcher.shutdown()


async def test_daemon_health_counts_finished_runs_in_the_current_second(
    hangar: InProcessDaemon,
) -> None:
    await make_agent(hangar)
    await hangar.call(methods.ISSUE_CREATE, {"title": "t", "assign": "ok"})
    await hangar.dispatch()

    health = await hangar.call(methods.DAEMON_HEALTH, {})

    assert health["success_ring"][-1] == 1
    assert sum(health["success_ring"]) == 1
    assert sum(health["failure_ring"]) == 0
    assert (health["slots_total"], health["slots_used"]) == (20, 0)


async def test_health_names_the_database_and_the_daemon(hangar: InProcessDaemon) -> None:
    health = await hangar.call(methods.HEALTH, {})

    assert health["database"] == "sqlite"
    assert health["migrated"] is True
    assert health["daemon_id"] == hangar.daemon.daemon_id
    assert health["connected"] == 0  # no socket server in-process


# -- subscriptions ---------------------------------------------------------------------------


async def test_subscribe_attaches_a_stream_of_this_workspaces_events(
    hangar: InProcessDaemon,
) -> None:
    answer = await hangar.call(methods.WORKSPACE_SUBSCRIBE, {})
    sub = hangar.conn.subscription
    assert sub is not None
    default = await hangar.store.workspace_default()
    assert answer["workspace"]["id"] == sub.workspace_id == default.id
    await make_agent(hangar)

    made = await hangar.call(methods.ISSUE_CREATE, {"title": "t", "assign": "ok"})

    events = [decode_event(await sub.next()), decode_event(await sub.next())]
    assert isinstance(events[0], IssueCreated) and events[0].issue.id == made["issue"]["id"]
    assert isinstance(events[1], TaskQueued) and events[1].task_id == made["task"]["id"]


async def test_subscribing_elsewhere_replaces_the_subscription(hangar: InProcessDaemon) -> None:
    first = await hangar.subscribe()
    await hangar.call(methods.WORKSPACE_CREATE, {"slug": "other"})

    second = await hangar.subscribe("other")
    await hangar.call(methods.ISSUE_CREATE, {"title": "here"})
    await hangar.call(methods.ISSUE_CREATE, {"workspace_id": "other", "title": "there"})

    assert first.names() == []  # closed: nothing more arrives
    assert hangar.conn.subscription is second.sub
    [created] = second.drain()
    assert isinstance(created, IssueCreated) and created.issue.title == "there"
    default = await hangar.store.workspace_default()
    assert not hangar.events.has_subscribers(default.id)


async def test_subscribing_to_an_unknown_workspace_is_32010(hangar: InProcessDaemon) -> None:
    err = await refused(hangar, methods.WORKSPACE_SUBSCRIBE, {"workspace_id": "nowhere"})

    assert err.code == rpc.NOT_FOUND
    assert hangar.conn.subscription is None


async def test_workspace_use_changes_the_default(hangar: InProcessDaemon) -> None:
    made = await hangar.call(methods.WORKSPACE_CREATE, {"slug": "other"})

    used = await hangar.call(methods.WORKSPACE_USE, {"workspace_id": "other"})
    await hangar.call(methods.ISSUE_CREATE, {"title": "lands in other"})

    assert used["id"] == made["id"]
    issues = (await hangar.call(methods.ISSUES_LIST, {"workspace_id": made["id"]}))["issues"]
    assert [i["title"] for i in issues] == ["lands in other"]


async def test_the_issue_list_reply_fits_one_frame_however_many_issues(
    hangar: InProcessDaemon,
) -> None:
    text = "x" * MAX_DESCRIPTION_BYTES
    for n in range(MAX_BODY_BYTES // MAX_DESCRIPTION_BYTES + 1):
        await hangar.call(methods.ISSUE_CREATE, {"title": f"t{n}", "description": text})

    result = await hangar.routes.dispatch(hangar.conn, methods.ISSUES_LIST, {})

    encode_frame(rpc.encode_result(1, result))  # what the server sends; too large → raises


async def test_pathological_rows_page_within_frames_and_every_row_is_reached(
    hangar: InProcessDaemon,
) -> None:
    # control characters cost six bytes each once JSON-escaped
    text = "\x01" * (MAX_DESCRIPTION_BYTES - 1)
    made = set()
    for n in range(30):
        issue = await hangar.call(methods.ISSUE_CREATE, {"title": f"t{n}", "description": text})
        made.add(issue["issue"]["id"])
    seen: list[str] = []
    before = None
    while True:
        params = {"limit": 7} | ({"before": before} if before else {})
        result = await hangar.routes.dispatch(hangar.conn, methods.ISSUES_LIST, params)
        encode_frame(rpc.encode_result(1, result))  # fits a frame
        for issue in result.issues:
            assert len(issue.description) < 1100  # clipped in the list view
            assert "more characters" in issue.description
        seen += [i.id for i in result.issues]
        before = result.next_before
        if before is None:
            break
    assert len(seen) == len(set(seen)) == 30 and set(seen) == made
    whole = await hangar.call(methods.ISSUE_GET, {"issue_id": seen[0]})
    assert whole["issue"]["description"] == text  # whole in the detail view
