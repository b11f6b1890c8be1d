"""``hangar_issue_update`` and ``hangar_issue_comment`` over the SDK's own client, against a real
daemon serving its socket in this event loop: what reaches the daemon, what comes back, and
every refusal as one tool-error line."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hangar.core.clock import SystemClock
from hangar.core.ids import UlidGen
from hangar.mcp.backend import Backend
from hangar.mcp.config import McpConfig
from hangar.mcp.server import build_server
from hangar.testing import InProcessDaemon, daemon_in_process
from mcp import Client
from tests.daemon.conftest import migrated_db  # noqa: F401  (a fixture)
from tests.daemon.helpers import make_agent, seed_home

CONFIG = McpConfig(repo_path="/nonexistent", command=["bash"], max_workspaces=3)


@pytest.fixture
async def daemon(hangar_home: Path, migrated_db: Path) -> AsyncIterator[InProcessDaemon]:  # noqa: F811
    home = seed_home(hangar_home / "h", migrated_db)
    async with daemon_in_process(home, clock=SystemClock(), ids=UlidGen(), serve=True) as d:
        yield d


async def _tool(daemon: InProcessDaemon, name: str, args: dict[str, Any]) -> tuple[Any, bool]:
    backend = Backend(daemon.daemon.paths)
    try:
        async with Client(build_server(CONFIG, backend)) as client:
            res = await client.call_tool(name, args)
    finally:
        await backend.close()
    text = res.content[0].text  # type: ignore[union-attr]
    return (text if res.is_error else json.loads(text)), bool(res.is_error)


async def test_the_tools_are_listed_with_their_inputs(daemon: InProcessDaemon) -> None:
    backend = Backend(daemon.daemon.paths)
    async with Client(build_server(CONFIG, backend)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    update = tools["hangar_issue_update"].input_schema
    assert update["required"] == ["id"]
    assert set(update["properties"]) == {
        "id",
        "title",
        "description",
        "priority",
        "state",
        "assign",
        "unassign",
    }
    assert tools["hangar_issue_comment"].input_schema["required"] == ["id", "body"]


async def test_update_edits_assigns_and_closes(daemon: InProcessDaemon) -> None:
    bot = await make_agent(daemon, "bot", ["sleep", "30"])  # the daemon runs it: it waits
    issue = (await daemon.call("hangar/issue_create", {"title": "t"}))["issue"]

    edited, err = await _tool(
        daemon, "hangar_issue_update", {"id": issue["id"], "title": "New", "priority": 2}
    )
    assert not err and (edited["title"], edited["priority"]) == ("New", 2)
    assigned, _ = await _tool(daemon, "hangar_issue_update", {"id": issue["id"], "assign": "bot"})
    assert assigned["assignee"] == f"agent:{bot['id']}"
    closed, _ = await _tool(daemon, "hangar_issue_update", {"id": issue["id"], "state": "done"})
    assert closed["state"] == "done"
    [task] = (await daemon.call("hangar/tasks_list", {"issue_id": issue["id"]}))["tasks"]
    assert task["status"] == "cancelled"  # closing cancelled it (queued, or stopped its run)

    refused, err = await _tool(
        daemon, "hangar_issue_update", {"id": issue["id"], "state": "cancelled"}
    )
    assert err and refused.startswith("Error executing tool hangar_issue_update: invalid_params:")
    assert "from done it can go to open" in refused and "\n" not in refused


async def test_comment_writes_on_the_thread(daemon: InProcessDaemon) -> None:
    bot = await make_agent(daemon, "bot")
    issue = (await daemon.call("hangar/issue_create", {"title": "t"}))["issue"]

    row, err = await _tool(
        daemon, "hangar_issue_comment", {"id": issue["id"], "body": "Hi *there*"}
    )
    by_bot, _ = await _tool(
        daemon, "hangar_issue_comment", {"id": issue["id"], "body": "on it", "author": "bot"}
    )

    assert not err and (row["author"], row["body"]) == (issue["creator"], "Hi *there*")
    assert by_bot["author"] == f"agent:{bot['id']}"
    page = await daemon.call("hangar/comments_list", {"issue_id": issue["id"]})
    assert [c["id"] for c in page["comments"]] == [row["id"], by_bot["id"]]


@pytest.mark.parametrize(
    ("tool", "args", "needle"),
    [
        ("hangar_issue_comment", {"body": "  "}, "invalid_params: comment must not be empty"),
        ("hangar_issue_comment", {"body": "x" * (10 * 1024 * 1024)}, "the limit is 64 KiB"),
        ("hangar_issue_update", {"state": "closed"}, "state must be one of open, in_progress"),
        ("hangar_issue_update", {"priority": 9}, "priority must be 0-3"),
        ("hangar_issue_update", {"assign": "ghost"}, "not_found: agent not found: ghost"),
        ("hangar_issue_update", {"assign": "x", "unassign": True}, "exclude each other"),
    ],
)
async def test_refusals_read_as_one_line(
    daemon: InProcessDaemon, tool: str, args: dict[str, Any], needle: str
) -> None:
    issue = (await daemon.call("hangar/issue_create", {"title": "t"}))["issue"]
    text, err = await _tool(daemon, tool, {"id": issue["id"], **args})
    assert err and needle in text and "\n" not in text, text
    assert (await daemon.call("hangar/issue_get", {"issue_id": issue["id"]}))["issue"] == issue


async def test_an_issue_of_another_workspace_is_not_found(daemon: InProcessDaemon) -> None:
    await daemon.call("workspace/create", {"slug": "other"})
    theirs = (await daemon.call("hangar/issue_create", {"title": "t", "workspace_id": "other"}))[
        "issue"
    ]
    for tool, args in (
        ("hangar_issue_comment", {"body": "x"}),
        ("hangar_issue_update", {"title": "x"}),
    ):
        text, err = await _tool(daemon, tool, {"id": theirs["id"], **args})
        assert err and f"not_found: issue not found: {theirs['id']}" in text
