"""The autopilot, skill and template tools, through the SDK's stdio client → ``hangar mcp`` → an
autostarted daemon (one per module, under a short /tmp dir).

Agents are made with the CLI (the MCP surface has no agent tool): a ``command`` agent running
``sleep`` keeps an autopilot's run unfinished until the test cancels its task.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hangar.core.cron import CronError, Schedule
from hangar.mcp.backend import Backend
from hangar.mcp.config import McpConfig
from hangar.mcp.server import build_server
from hangar.mcp.tools import TOOL_NAMES
from hangar.mcp.tools_autopilots import AUTOPILOT_TOOL_NAMES
from mcp import Client
from tests.e2e.harness import fake_agent, wait_until
from tests.mcp.harness import McpProcess, Sandbox

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

NEW_TOOLS = {
    "hangar_autopilot_list",
    "hangar_autopilot_create",
    "hangar_autopilot_show",
    "hangar_autopilot_run",
    "hangar_skill_list",
    "hangar_skill_attach",
    "hangar_skill_detach",
    "hangar_template_list",
    "hangar_template_use",
}
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(Path(tempfile.mkdtemp(prefix="hg", dir="/tmp")))
    box.make_repo()
    try:
        yield box
    finally:
        if shutil.which("tmux") is not None:
            box.teardown()
        else:
            box.hangar("daemon", "stop")
        shutil.rmtree(box.root, ignore_errors=True)


@pytest.fixture(scope="module")
def mcp(sandbox: Sandbox) -> Iterator[McpProcess]:
    server = sandbox.server(sandbox.config("main"))
    try:
        yield server
    finally:
        server.close()


def _agent(sandbox: Sandbox, name: str, command: str) -> None:
    made = sandbox.hangar(
        "agent", "create", "--name", name, "--provider", "command", "--command", command
    )
    assert made.returncode == 0, made.stderr


def _failure(mcp: McpProcess, tool: str, args: dict[str, Any]) -> str:
    """The tool error's text, checked to be one line naming the tool."""
    message = mcp.error(tool, args)
    prefix = f"Error executing tool {tool}: "
    assert message.startswith(prefix), message
    return message.removeprefix(prefix)


async def test_tools_are_listed_with_sane_schemas() -> None:
    assert set(AUTOPILOT_TOOL_NAMES) == NEW_TOOLS and set(TOOL_NAMES) >= NEW_TOOLS
    config = McpConfig(repo_path="/r", command=["claude"])
    async with Client(build_server(config, Backend())) as client:  # no daemon needed to list
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert tuple(tools) == TOOL_NAMES
    for name in NEW_TOOLS:
        tool = tools[name]
        schema = tool.input_schema
        text = json.dumps(schema)
        assert "enum" not in text and "anyOf" not in text, name
        for prop_name, prop in schema["properties"].items():
            assert prop_name in schema.get("required", []) or "default" in prop, (name, prop_name)
            assert prop["type"] in {"string", "integer"}, (name, prop_name)
        assert tool.description and len(tool.description) > 80, name
    create = tools["hangar_autopilot_create"]
    assert create.input_schema["required"] == ["name", "agent", "cron", "instructions"]
    props = create.input_schema["properties"]
    assert (props["timezone"]["default"], props["max_concurrent_runs"]["default"]) == ("UTC", 1)
    assert props["mode"]["type"] == "string" and props["mode"]["default"] == "run"
    assert "6 fields with seconds first" in props["cron"]["description"]
    assert "IANA" in props["timezone"]["description"]
    assert "skipped" in str(tools["hangar_autopilot_run"].description)
    use = tools["hangar_template_use"].input_schema
    assert use["required"] == ["name"]
    defaults = {k: use["properties"][k].get("default", "-") for k in use["properties"]}
    assert defaults == {
        "name": "-",
        "agent_name": None,
        "provider": "claude",
        "command": None,
        "model": None,
        "repo_path": None,
    }
    assert tools["hangar_skill_attach"].input_schema["required"] == ["skill", "agent"]
    assert tools["hangar_skill_list"].input_schema["properties"]["agent"]["default"] is None


def test_create_list_show_run_and_skip(mcp: McpProcess, sandbox: Sandbox) -> None:
    assert set(mcp.tool_names()) >= NEW_TOOLS
    _agent(sandbox, "apbot", "sleep 600")
    created = mcp.ok(
        "hangar_autopilot_create",
        {
            "name": "nightly-deps",
            "agent": "apbot",
            "cron": "0 3 * * *",
            "timezone": "Europe/Berlin",
            "instructions": "Update dependencies, run the tests, open a PR",
        },
    )
    assert created["name"] == "nightly-deps" and created["agent_name"] == "apbot"
    assert (created["cron_expr"], created["timezone"], created["mode"]) == (
        "0 3 * * *",
        "Europe/Berlin",
        "run",
    )
    assert created["max_concurrent_runs"] == 1 and created["enabled"] is True
    next_fire = dt.datetime.fromisoformat(created["next_fire"])
    assert next_fire.utcoffset() == next_fire.astimezone(BERLIN).utcoffset()
    assert (next_fire.hour, next_fire.minute, next_fire.second) == (3, 0, 0)
    assert next_fire.timestamp() * 1000 == created["next_tick_at"]

    listed = {a["name"]: a for a in mcp.ok("hangar_autopilot_list")}
    assert listed["nightly-deps"]["id"] == created["id"]
    assert listed["nightly-deps"]["next_fire"] == created["next_fire"]

    shown = mcp.ok("hangar_autopilot_show", {"autopilot": "nightly-deps"})
    assert shown["autopilot"]["id"] == created["id"] and shown["recent_runs"] == []
    upcoming = [dt.datetime.fromisoformat(t) for t in shown["upcoming"]]
    assert len(upcoming) == 5 and upcoming == sorted(set(upcoming))
    assert upcoming[0] == next_fire
    for when in upcoming:  # 03:00 on the wall clock in Berlin, whatever its offset that day
        assert when.utcoffset() == when.astimezone(BERLIN).utcoffset()
        assert (when.hour, when.minute) == (3, 0)
    days = [b.date() - a.date() for a, b in itertools.pairwise(upcoming)]
    assert days == [dt.timedelta(days=1)] * 4

    ran = mcp.ok("hangar_autopilot_run", {"autopilot": created["id"]})  # by id this time
    assert ran["status"] == "running" and ran["task_id"]
    assert ran["run"]["trigger"] == "manual" and ran["run"]["task_id"] == ran["task_id"]
    task_id = ran["task_id"]
    try:
        again = mcp.call("hangar_autopilot_run", {"autopilot": "nightly-deps"})
        assert not again.is_error, again.text  # a skipped run is an answer, not an error
        skipped = again.value
        assert skipped["status"] == "skipped"
        assert skipped["reason"] == "1 run is still unfinished (max_concurrent_runs 1)"
        shown = mcp.ok("hangar_autopilot_show", {"autopilot": "nightly-deps"})
        assert [(r["task_id"], r["status"]) for r in shown["recent_runs"]] == [(task_id, "running")]
        assert shown["autopilot"]["unfinished_runs"] == 1
    finally:
        sandbox.hangar("task", "cancel", task_id)
    wait_until(
        lambda: (
            mcp.ok("hangar_autopilot_show", {"autopilot": "nightly-deps"})["recent_runs"][0][
                "status"
            ]
            == "cancelled"
        ),
        timeout=30,
    )


def _daemon_reason(cron: str, zone: str) -> str:
    try:
        Schedule.parse(cron, zone)
    except CronError as exc:
        return str(exc)
    raise AssertionError(f"{cron!r} in {zone} parsed")


def test_bad_input_is_refused_with_the_daemons_reason(mcp: McpProcess, sandbox: Sandbox) -> None:
    _agent(sandbox, "badbot", "true")
    base = {"name": "bad", "agent": "badbot", "instructions": "i"}
    for cron, zone in [
        ("0 3 * *", "UTC"),
        ("0 3 * * * * *", "UTC"),
        ("99 3 * * *", "UTC"),
        ("0 3 * * *", "Nowhere/City"),
    ]:
        message = _failure(mcp, "hangar_autopilot_create", {**base, "cron": cron, "timezone": zone})
        assert message == f"invalid_params: {_daemon_reason(cron, zone)}", (cron, zone, message)
    assert (
        _failure(mcp, "hangar_autopilot_create", {**base, "cron": "0 3 * * *", "mode": "often"})
        == """invalid_params: mode must be one of "run", "issue", got 'often'"""
    )
    ghost = _failure(
        mcp, "hangar_autopilot_create", {**base, "agent": "ghost", "cron": "0 3 * * *"}
    )
    assert ghost == "not_found: agent not found: ghost"
    assert "bad" not in [a["name"] for a in mcp.ok("hangar_autopilot_list")]  # nothing written

    # zero values mean the defaults; then the same name again is a conflict
    made = mcp.ok(
        "hangar_autopilot_create",
        {**base, "cron": "0 3 * * *", "timezone": "", "max_concurrent_runs": 0, "mode": ""},
    )
    assert (made["timezone"], made["max_concurrent_runs"], made["mode"]) == ("UTC", 1, "run")
    dup = _failure(mcp, "hangar_autopilot_create", {**base, "cron": "0 4 * * *"})
    assert dup.startswith("conflict: ") and "already exists" in dup
    assert _failure(mcp, "hangar_autopilot_run", {"autopilot": "nope"}) == (
        "not_found: autopilot not found: nope"
    )
    assert _failure(mcp, "hangar_autopilot_show", {"autopilot": "nope"}) == (
        "not_found: autopilot not found: nope"
    )
    assert "bad" in [a["name"] for a in mcp.ok("hangar_autopilot_list")]  # still serving


def test_template_use_on_a_fresh_home_then_attach_and_detach(
    mcp: McpProcess, sandbox: Sandbox
) -> None:
    assert mcp.ok("hangar_skill_list") == []  # nothing synced in this home yet
    templates = {t["name"]: t for t in mcp.ok("hangar_template_list")}
    assert len(templates) == 10 and "code-reviewer" in templates
    wanted = templates["code-reviewer"]["skills"]
    assert wanted

    used = mcp.ok(
        "hangar_template_use",
        {
            "name": "code-reviewer",
            "agent_name": "reviewer",
            "command": fake_agent("claude", "happy"),
            "provider": "",  # a zero value: the default, claude
        },
    )
    assert used["skills"] == wanted and sorted(used["imported"]) == sorted(wanted)
    agent = used["agent"]
    assert (agent["name"], agent["provider"]) == ("reviewer", "claude")
    assert agent["instructions"] == templates["code-reviewer"]["instructions"]
    assert agent["repo_path"] == str(sandbox.repo.resolve())  # the server's repository
    skills = {s["name"]: s for s in mcp.ok("hangar_skill_list")}
    assert set(wanted) <= set(skills)
    assert sorted(s["name"] for s in mcp.ok("hangar_skill_list", {"agent": "reviewer"})) == (
        sorted(wanted)
    )

    again = _failure(
        mcp,
        "hangar_template_use",
        {"name": "code-reviewer", "agent_name": "reviewer", "command": fake_agent("claude", "x")},
    )
    assert again == (
        "conflict: agent 'reviewer' already exists; choose another name (--agent-name)"
    )
    unknown = _failure(mcp, "hangar_template_use", {"name": "nope"})
    assert unknown.startswith("not_found: template not found: nope (the templates are: ")
    provider = _failure(mcp, "hangar_template_use", {"name": "planner", "provider": "cursor"})
    assert provider.startswith("invalid_params: provider must be one of ")

    _agent(sandbox, "plain", "true")
    skill = wanted[0]
    assert mcp.ok("hangar_skill_list", {"agent": "plain"}) == []
    attached = mcp.ok("hangar_skill_attach", {"skill": skill, "agent": "plain"})
    assert attached == {"skill": skill, "agent": "plain", "changed": True}
    assert mcp.ok("hangar_skill_attach", {"skill": skill, "agent": "plain"})["changed"] is False
    assert [s["name"] for s in mcp.ok("hangar_skill_list", {"agent": "plain"})] == [skill]
    assert {s["name"]: s["used"] for s in mcp.ok("hangar_skill_list")}[skill] == 2

    detached = mcp.ok("hangar_skill_detach", {"skill": skill, "agent": "plain"})
    assert detached == {"skill": skill, "agent": "plain", "changed": True}
    assert mcp.ok("hangar_skill_detach", {"skill": skill, "agent": "plain"})["changed"] is False
    assert mcp.ok("hangar_skill_list", {"agent": "plain"}) == []
    assert {s["name"]: s["used"] for s in mcp.ok("hangar_skill_list")}[skill] == 1

    missing = _failure(mcp, "hangar_skill_attach", {"skill": "no-such-skill", "agent": "plain"})
    assert missing.startswith("not_found: ") and "no-such-skill" in missing
