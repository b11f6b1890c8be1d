"""An issue's thread through the daemon's real routes: who writes, the pages, the event, an
agent's result joining the thread when its run is done, and what is refused."""

from __future__ import annotations

from typing import Any

import pytest

from hangar.core.comments import COMMENT_MAX_BYTES
from hangar.proto import jsonrpc as rpc
from hangar.proto import methods
from hangar.proto.events import CommentCreated
from hangar.testing import InProcessDaemon
from tests.daemon.helpers import make_agent

pytestmark = pytest.mark.usefixtures("migrated")


async def refused(hangar: InProcessDaemon, method: str, params: dict[str, Any]) -> rpc.RpcError:
    with pytest.raises(rpc.RpcError) as caught:
        await hangar.call(method, params)
    return caught.value


async def thread(hangar: InProcessDaemon, issue_id: str, **more: Any) -> dict[str, Any]:
    return await hangar.call(methods.COMMENTS_LIST, {"issue_id": issue_id, **more})


async def test_a_comment_is_the_owners_and_announced(hangar: InProcessDaemon) -> None:
    issue = (await hangar.call(methods.ISSUE_CREATE, {"title": "t"}))["issue"]
    events = await hangar.subscribe()

    row = await hangar.call(methods.COMMENT_ADD, {"issue_id": issue["id"], "body": "**Hi**"})

    assert (row["author"], row["body"], row["issue_id"]) == (
        issue["creator"],
        "**Hi**",
        issue["id"],
    )
    [event] = events.drain()
    assert isinstance(event, CommentCreated) and event.comment.id == row["id"]
    assert (await thread(hangar, issue["id"])) == {"comments": [row], "next_before": None}


async def test_an_agent_may_be_named_as_the_author(hangar: InProcessDaemon) -> None:
    bot = await make_agent(hangar, "bot")
    issue = (await hangar.call(methods.ISSUE_CREATE, {"title": "t"}))["issue"]
    row = await hangar.call(
        methods.COMMENT_ADD, {"issue_id": issue["id"], "body": "on it", "author": "bot"}
    )
    assert row["author"] == f"agent:{bot['id']}"
    err = await refused(
        hangar, methods.COMMENT_ADD, {"issue_id": issue["id"], "body": "x", "author": "nobody"}
    )
    assert err.code == rpc.NOT_FOUND and "agent" in err.message


async def test_pages_walk_back_from_the_newest(hangar: InProcessDaemon) -> None:
    issue = (await hangar.call(methods.ISSUE_CREATE, {"title": "t"}))["issue"]
    for n in range(3):
        await hangar.call(methods.COMMENT_ADD, {"issue_id": issue["id"], "body": f"c{n}"})
        hangar.clock.advance(1)  # type: ignore[attr-defined]
    first = await thread(hangar, issue["id"], limit=2)
    older = await thread(hangar, issue["id"], limit=2, before=first["next_before"])
    assert [c["body"] for c in first["comments"]] == ["c1", "c2"]
    assert [c["body"] for c in older["comments"]] == ["c0"] and older["next_before"] is None
    err = await refused(hangar, methods.COMMENTS_LIST, {"issue_id": issue["id"], "limit": 201})
    assert err.code == rpc.INVALID_PARAMS and "limit" in err.message


async def test_a_done_run_posts_its_result_as_the_agents_comment(hangar: InProcessDaemon) -> None:
    bot = await make_agent(hangar, "echo", ["sh", "-c", "echo the answer is 42"])
    made = await hangar.call(methods.ISSUE_CREATE, {"title": "t", "assign": "echo"})
    await hangar.call(methods.COMMENT_ADD, {"issue_id": made["issue"]["id"], "body": "please"})
    events = await hangar.subscribe()

    await hangar.dispatch()

    comments = (await thread(hangar, made["issue"]["id"]))["comments"]
    assert [c["author"] for c in comments] == [made["issue"]["creator"], f"agent:{bot['id']}"]
    assert "the answer is 42" in comments[1]["body"]
    posted = [e for e in events.drain() if isinstance(e, CommentCreated)]
    assert [e.comment.id for e in posted] == [comments[1]["id"]]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("", "must not be empty"),
        ("  \n\t ", "must not be empty"),
        ("x" * (10 * 1024 * 1024), "the limit is 64 KiB"),
        ("é" * (COMMENT_MAX_BYTES // 2 + 1), "the limit is 64 KiB"),
        ("a\x00b", "NUL"),
    ],
)
async def test_bad_bodies_are_refused_and_nothing_is_stored(
    hangar: InProcessDaemon, body: str, needle: str
) -> None:
    issue = (await hangar.call(methods.ISSUE_CREATE, {"title": "t"}))["issue"]
    events = await hangar.subscribe()
    err = await refused(hangar, methods.COMMENT_ADD, {"issue_id": issue["id"], "body": body})
    assert err.code == rpc.INVALID_PARAMS and needle in err.message, err.message
    assert (await thread(hangar, issue["id"]))["comments"] == []
    assert events.drain() == []
    assert await hangar.call(methods.PING) == {}


async def test_another_workspaces_issue_answers_like_a_missing_one(
    hangar: InProcessDaemon,
) -> None:
    await hangar.call(methods.WORKSPACE_CREATE, {"slug": "other"})
    params = {"title": "t", "workspace_id": "other"}
    theirs = (await hangar.call(methods.ISSUE_CREATE, params))["issue"]
    missing_id = "01JZZZZZZZZZZZZZZZZZZZZZZZ"
    for method, extra in ((methods.COMMENT_ADD, {"body": "x"}), (methods.COMMENTS_LIST, {})):
        foreign = await refused(hangar, method, {"issue_id": theirs["id"], **extra})
        missing = await refused(hangar, method, {"issue_id": missing_id, **extra})
        assert foreign.code == missing.code == rpc.NOT_FOUND
        assert foreign.message == f"issue not found: {theirs['id']}"
    assert (await thread(hangar, theirs["id"], workspace_id="other"))["comments"] == []
