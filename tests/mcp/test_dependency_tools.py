"""Issue dependencies over MCP, with the SDK's own client against a real daemon serving its
socket: an orchestrating agent files a graph of work at once (``blocked_by``), sees why an
issue waits, lists the ready ones, and blocks or unblocks by hand."""

from __future__ import annotations

from typing import Any

from hangar.mcp.server import build_server
from hangar.testing import InProcessDaemon
from mcp import Client
from tests.daemon.conftest import migrated_db  # noqa: F401  (a fixture)
from tests.daemon.helpers import make_agent
from tests.mcp.test_issue_tools import CONFIG, Backend, _tool, daemon  # noqa: F401


async def test_create_takes_blocked_by_and_the_issue_says_why_it_waits(
    daemon: InProcessDaemon,  # noqa: F811
) -> None:
    await make_agent(daemon, "bot", ["sleep", "30"])
    first, err = await _tool(daemon, "hangar_issue_create", {"title": "first", "assign": "bot"})
    assert not err and first["task"] is not None
    b = first["issue"]["id"]
    then, err = await _tool(
        daemon, "hangar_issue_create", {"title": "then", "assign": "bot", "blocked_by": [b]}
    )
    assert not err
    assert then["task"] is None and then["issue"]["blocked"] == f"blocked by {b}"
    a = then["issue"]["id"]

    ready, _ = await _tool(daemon, "hangar_issue_list", {"only": "ready"})
    blocked, _ = await _tool(daemon, "hangar_issue_list", {"only": "blocked"})
    assert [i["id"] for i in ready] == [b] and [i["id"] for i in blocked] == [a]
    everything, _ = await _tool(daemon, "hangar_issue_list", {})
    assert {i["id"]: i["blocked"] for i in everything} == {a: f"blocked by {b}", b: None}

    freed, err = await _tool(daemon, "hangar_issue_unblock", {"id": a, "by": b})
    assert not err and freed["changed"] is True and freed["issue"]["blocked"] is None
    assert freed["task"] is not None  # the last blocker gone: queued at once
    again, err = await _tool(daemon, "hangar_issue_block", {"id": a, "by": b})
    assert err and "cancel it first" in again  # its task is already queued


async def test_bad_edges_come_back_as_tool_errors(daemon: InProcessDaemon) -> None:  # noqa: F811
    made = [(await daemon.call("hangar/issue_create", {"title": t}))["issue"]["id"] for t in "ab"]
    a, b = made
    out, err = await _tool(daemon, "hangar_issue_block", {"id": a, "by": b})
    assert not err and out["issue"]["blocked"] == f"blocked by {b}"
    cycle, err = await _tool(daemon, "hangar_issue_block", {"id": b, "by": a})
    assert err and f"dependency cycle: {b} -> {a} -> {b}" in cycle
    itself, err = await _tool(daemon, "hangar_issue_block", {"id": a, "by": a})
    assert err and "cannot block itself" in itself
    missing: Any
    missing, err = await _tool(
        daemon, "hangar_issue_create", {"title": "x", "blocked_by": [a, "nope"]}
    )
    assert err and "issue not found: nope" in missing
    listed = (await daemon.call("hangar/issues_list", {}))["issues"]
    assert len(listed) == 2  # nothing half-written


async def test_the_tools_are_listed_with_their_inputs(daemon: InProcessDaemon) -> None:  # noqa: F811
    backend = Backend(daemon.daemon.paths)
    try:
        async with Client(build_server(CONFIG, backend)) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
    finally:
        await backend.close()
    create = tools["hangar_issue_create"].input_schema["properties"]
    assert create["blocked_by"]["type"] == "array"
    assert tools["hangar_issue_block"].input_schema["required"] == ["id", "by"]
    assert tools["hangar_issue_unblock"].input_schema["required"] == ["id", "by"]
    assert "only" in tools["hangar_issue_list"].input_schema["properties"]
