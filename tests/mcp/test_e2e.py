"""End to end: the SDK's stdio client → ``hangar mcp`` → an autostarted daemon → tmux + git.

One daemon, tmux server and repo per module (under a short /tmp dir); every test uses its own
session names. The agent is ``bash --noprofile --norc +o history``: no network, fast,
scriptable, and it leaves no history file behind in the sandbox.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hangar.mcp.tools import TOOL_NAMES
from tests.e2e.harness import fake_agent, wait_until
from tests.mcp.harness import HANGAR, McpProcess, Sandbox

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None or shutil.which("git") is None, reason="needs tmux and git"
)

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
WORKSPACE_KEYS = {"id", "name", "status", "branch", "tmuxSession", "createdAt", "worktreePath"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(Path(tempfile.mkdtemp(prefix="hg", dir="/tmp")))
    box.make_repo()
    try:
        yield box
    finally:
        box.teardown()
        shutil.rmtree(box.root, ignore_errors=True)


@pytest.fixture(scope="module")
def mcp(sandbox: Sandbox) -> Iterator[McpProcess]:
    config = sandbox.config(
        "main",
        claudeCmd="bash --noprofile --norc +o history",
        idleThresholdMs=400,
        maxWorkspaces=20,
    )
    server = sandbox.server(config)
    try:
        yield server
    finally:
        server.close()


def _create(mcp: McpProcess, name: str, **extra: Any) -> dict[str, Any]:
    ws: dict[str, Any] = mcp.ok("workspace_create", {"name": name, **extra})
    assert ws["name"] == name and ws["status"] == "active"
    return ws


def _settle(mcp: McpProcess, ident: str, threshold_ms: int | None = 1000) -> dict[str, Any]:
    """Wait until settled; 1 s of stillness by default (the server's 400 ms with None)."""
    args = {"id": ident, "timeout_ms": 20_000, "poll_interval_ms": 50}
    if threshold_ms is not None:
        args["threshold_ms"] = threshold_ms
    res: dict[str, Any] = mcp.ok("workspace_wait_idle", args)
    assert res["idle"] is True and res["timed_out"] is False, res
    return res


def test_every_tool_is_listed(mcp: McpProcess) -> None:
    assert mcp.tool_names() == list(TOOL_NAMES)


def test_create_send_read_idle_attach(mcp: McpProcess, sandbox: Sandbox) -> None:
    ws = _create(mcp, "e2e-basic", meta={"ticket": "T-1"})
    assert set(ws) >= WORKSPACE_KEYS
    assert ws["tmuxSession"] == "harness-e2e-basic" and ws["branch"] == "e2e-basic"
    assert ws["meta"] == {"ticket": "T-1"} and ws["baseBranch"] == "main"
    assert ISO.fullmatch(str(ws["createdAt"]))
    assert Path(str(ws["worktreePath"])).is_dir()

    assert mcp.ok("workspace_send", {"id": ws["id"], "text": "echo hello-$((6*7))"}) == {
        "sent": True
    }
    waited = _settle(mcp, "e2e-basic", threshold_ms=None)  # by name, the configured threshold
    assert set(waited) == {
        "idle", "timed_out", "last_changed_at", "elapsed_ms", "threshold_ms", "state"
    }  # fmt: skip
    assert waited["threshold_ms"] == 400 and waited["state"] != "busy"
    read = mcp.ok("workspace_read", {"id": ws["id"]})
    assert set(read) == {"content", "captured_at"} and "hello-42" in read["content"]
    assert ISO.fullmatch(read["captured_at"])

    first = mcp.ok("workspace_read", {"id": ws["id"], "since_line": 0, "lines": 2000})
    assert "hello-42" in first["content"] and isinstance(first["next_line"], int)
    mcp.ok("workspace_send", {"id": ws["id"], "text": "echo second-$((2+3))"})
    _settle(mcp, ws["id"])
    fresh = mcp.ok("workspace_read", {"id": ws["id"], "since_line": first["next_line"]})
    assert "second-5" in fresh["content"] and "hello-42" not in fresh["content"]
    assert mcp.ok("workspace_read", {"id": ws["id"], "lines": 1})["content"].count("\n") <= 1

    idle = mcp.ok("workspace_idle", {"id": ws["id"], "threshold_ms": 100_000})
    assert set(idle) == {"Idle", "LastChangedAt", "ElapsedMs", "ThresholdMs", "State"}
    assert idle["Idle"] is False and idle["ThresholdMs"] == 100_000 and idle["State"] == "busy"
    assert mcp.ok("workspace_idle", {"id": ws["id"]})["Idle"] is True

    hint = mcp.ok("workspace_attach_hint", {"id": ws["id"]})
    assert hint == {"command": "tmux attach-session -t harness-e2e-basic"}
    listed = {w["name"]: w for w in mcp.ok("workspace_list")}
    assert set(listed["e2e-basic"]) >= WORKSPACE_KEYS


def test_press_enter_false_types_without_running(mcp: McpProcess) -> None:
    ws = _create(mcp, "e2e-noenter")
    mcp.ok("workspace_send", {"id": ws["id"], "text": "echo typed-$((1+1))", "press_enter": False})
    _settle(mcp, ws["id"])
    content = mcp.ok("workspace_read", {"id": ws["id"]})["content"]
    assert "echo typed-$((1+1))" in content and "typed-2" not in content
    mcp.ok("workspace_send", {"id": ws["id"], "text": ""})  # just Enter
    _settle(mcp, ws["id"])
    assert "typed-2" in mcp.ok("workspace_read", {"id": ws["id"]})["content"]


def test_not_found_everywhere(mcp: McpProcess) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("workspace_send", {"text": "x"}),
        ("workspace_read", {}),
        ("workspace_idle", {}),
        ("workspace_wait_idle", {"timeout_ms": 100}),
        ("workspace_attach_hint", {}),
        ("workspace_resume", {}),
        ("workspace_archive", {}),
        ("workspace_delete", {"confirm": True}),
    ]
    for tool, args in cases:
        message = mcp.error(tool, {"id": "no-such-ws", **args})
        assert "not_found" in message and "no-such-ws" in message, (tool, message)
    assert "not_found" in mcp.error("hangar_task_show", {"id": "nope"})


@pytest.mark.parametrize("name", ["Bad_Name", "a" * 41, "new", "-lead", ""])
def test_invalid_names(mcp: McpProcess, name: str) -> None:
    assert "invalid_name" in mcp.error("workspace_create", {"name": name})


def test_name_taken(mcp: McpProcess) -> None:
    _create(mcp, "e2e-twice")
    assert "name_taken" in mcp.error("workspace_create", {"name": "e2e-twice"})


def test_capacity_reached(mcp: McpProcess, sandbox: Sandbox) -> None:
    _create(mcp, "e2e-cap-first")  # at least one active session in this workspace
    small = sandbox.server(sandbox.config("cap", claudeCmd="cat", maxWorkspaces=1))
    try:
        assert "capacity_reached" in small.error("workspace_create", {"name": "e2e-cap-second"})
    finally:
        small.close()
    names = [w["name"] for w in mcp.ok("workspace_list")]
    assert "e2e-cap-second" not in names


def test_agent_that_cannot_start_leaves_nothing_behind(sandbox: Sandbox) -> None:
    for command, kind in [
        ("no-such-agent-xyz --flag", "agent_not_found"),
        ("false", "launch_failed"),
    ]:
        server = sandbox.server(sandbox.config("broken", claudeCmd=command))
        try:
            assert kind in server.error("workspace_create", {"name": "e2e-broken"})
        finally:
            server.close()
        assert not (sandbox.root / "worktrees" / "e2e-broken").exists()
        assert sandbox.git(sandbox.repo, "branch", "--list", "e2e-broken") == ""


def test_session_killed_behind_our_back_is_orphaned(mcp: McpProcess, sandbox: Sandbox) -> None:
    ws = _create(mcp, "e2e-orphan")
    subprocess.run(
        ["tmux", "kill-session", "-t", "=harness-e2e-orphan"], env=sandbox.env(), check=True
    )
    message = mcp.error("workspace_send", {"id": ws["id"], "text": "hi"})
    assert "not_active" in message and "orphaned" in message
    every = {w["name"]: w for w in mcp.ok("workspace_list", {"include_archived": True})}
    assert every["e2e-orphan"]["status"] == "orphaned"
    assert "e2e-orphan" not in [w["name"] for w in mcp.ok("workspace_list")]
    resumed = mcp.ok("workspace_resume", {"id": ws["id"]})
    assert (resumed["status"], resumed["tmuxSession"]) == ("active", "harness-e2e-orphan")
    assert mcp.ok("workspace_send", {"id": ws["id"], "text": "echo back"})["sent"] is True


def test_send_refuses_control_characters(mcp: McpProcess) -> None:
    ws = _create(mcp, "e2e-ctrl")
    for text in ["\x1b[31mred", "bell\x07", "nul\x00", "del\x7f"]:
        assert "invalid_text" in mcp.error("workspace_send", {"id": ws["id"], "text": text})
    assert mcp.ok("workspace_send", {"id": ws["id"], "text": "echo 'a\tb'\n"})["sent"] is True


def test_sends_inside_200ms_are_spaced_not_refused(mcp: McpProcess) -> None:
    ws = _create(mcp, "e2e-rate")
    args = {"id": ws["id"], "press_enter": False}
    start = time.monotonic()
    first = mcp.call("workspace_send", {**args, "text": "one "})
    second = mcp.call("workspace_send", {**args, "text": "two"})
    assert first.value == second.value == {"sent": True}
    # the daemon sleeps out the rest of the 200 ms window rather than erroring
    assert time.monotonic() - start >= 0.19, (first.elapsed, second.elapsed)
    if first.elapsed < 0.1:
        assert second.elapsed >= 0.09, (first.elapsed, second.elapsed)
    _settle(mcp, ws["id"])
    assert "one two" in mcp.ok("workspace_read", {"id": ws["id"]})["content"]


@pytest.mark.parametrize("lines", [0, 2001, -5])
def test_read_lines_bounds(mcp: McpProcess, lines: int) -> None:
    message = mcp.error("workspace_read", {"id": "whatever", "lines": lines})
    assert "lines must be 1-2000" in message


def test_wait_idle_times_out_while_output_keeps_changing(sandbox: Sandbox) -> None:
    # a 3 s threshold: a loaded machine pausing the loop for a moment is not settled work
    config = sandbox.config(
        "busy", claudeCmd="bash --noprofile --norc +o history", idleThresholdMs=3000
    )
    mcp = sandbox.server(config)
    try:
        ws = _create(mcp, "e2e-busy")
        loop = "for i in $(seq 600); do date +%N; sleep 0.1; done"
        mcp.ok("workspace_send", {"id": ws["id"], "text": loop})
        res = mcp.ok(
            "workspace_wait_idle", {"id": ws["id"], "timeout_ms": 1500, "poll_interval_ms": 50}
        )
        assert res["timed_out"] is True and res["idle"] is False and res["state"] == "busy"
        assert res["threshold_ms"] == 3000 and ISO.fullmatch(res["last_changed_at"])
        listed = mcp.ok("workspace_list", {"wait_for_idle": "all", "timeout_ms": 300})
        assert {w["name"]: w.get("state") for w in listed}["e2e-busy"] == "busy"
        mcp.ok("workspace_delete", {"id": ws["id"], "confirm": True, "force": True})
    finally:
        mcp.close()


def test_list_wait_for_idle(mcp: McpProcess) -> None:
    _create(mcp, "e2e-waitlist")
    listed = mcp.ok("workspace_list", {"wait_for_idle": "any", "timeout_ms": 10_000})
    states = {w["name"]: w.get("state") for w in listed}
    assert states["e2e-waitlist"] in {"busy", "idle", "waiting_for_input", "exited"}
    assert any(s != "busy" for s in states.values())
    assert "wait_for_idle" in mcp.error("workspace_list", {"wait_for_idle": "sometimes"})


def test_archive_then_list(mcp: McpProcess, sandbox: Sandbox) -> None:
    ws = _create(mcp, "e2e-archive")
    archived = mcp.ok("workspace_archive", {"id": "e2e-archive"})
    assert archived["status"] == "archived" and archived["id"] == ws["id"]
    assert not Path(str(ws["worktreePath"])).exists()
    assert "e2e-archive" in sandbox.git(sandbox.repo, "branch", "--list", "e2e-archive")
    assert "e2e-archive" not in [w["name"] for w in mcp.ok("workspace_list")]
    every = {w["name"]: w for w in mcp.ok("workspace_list", {"include_archived": True})}
    assert every["e2e-archive"]["status"] == "archived"
    assert mcp.ok("workspace_archive", {"id": ws["id"]})["status"] == "archived"  # idempotent
    assert "not_active" in mcp.error("workspace_send", {"id": ws["id"], "text": "hi"})
    assert "not_active" in mcp.error("workspace_attach_hint", {"id": ws["id"]})


def test_delete_guards(mcp: McpProcess, sandbox: Sandbox) -> None:
    ws = _create(mcp, "e2e-delete")
    wt = Path(str(ws["worktreePath"]))
    assert "delete_not_confirmed" in mcp.error(
        "workspace_delete", {"id": ws["id"], "confirm": False}
    )
    assert "confirm" in mcp.error("workspace_delete", {"id": ws["id"]})  # required by the schema
    (wt / "scratch.txt").write_text("work in progress\n")
    assert "dirty_worktree" in mcp.error("workspace_delete", {"id": ws["id"], "confirm": True})
    sandbox.git(wt, "add", "scratch.txt")
    sandbox.git(wt, "commit", "-q", "-m", "wip")
    assert "unpushed_commits" in mcp.error("workspace_delete", {"id": ws["id"], "confirm": True})
    assert wt.is_dir()  # nothing was lost on the refusals
    gone = mcp.ok("workspace_delete", {"id": ws["id"], "confirm": True, "force": True})
    assert gone == {"deleted": True, "id": ws["id"]}
    assert not wt.exists()
    every = mcp.ok("workspace_list", {"include_archived": True})
    assert ws["id"] not in [w["id"] for w in every]


def test_clean_delete_without_force(mcp: McpProcess) -> None:
    ws = _create(mcp, "e2e-clean", branch="e2e-clean-branch")
    assert ws["branch"] == "e2e-clean-branch"
    assert mcp.ok("workspace_delete", {"id": "e2e-clean", "confirm": True})["deleted"] is True


def test_issue_and_task_tools(mcp: McpProcess, sandbox: Sandbox) -> None:
    created = sandbox.hangar(
        "agent", "create", "--name", "mcpbot", "--provider", "claude",
        "--command", fake_agent("claude", "happy"), "--repo", str(sandbox.repo),
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    plain = mcp.ok("hangar_issue_create", {"title": "Write the docs", "priority": 2})
    assert plain["issue"]["title"] == "Write the docs" and plain["task"] is None
    # no repo_path given: the server's own repository
    assert plain["issue"]["repo_path"] == str(sandbox.repo.resolve())
    assigned = mcp.ok("hangar_issue_create", {"title": "Fix it", "assign": "mcpbot"})
    task_id = assigned["task"]["id"]
    issues = mcp.ok("hangar_issue_list", {})
    assert {"Write the docs", "Fix it"} <= {i["title"] for i in issues}
    assert [i["title"] for i in mcp.ok("hangar_issue_list", {"state": "cancelled"})] == []
    tasks = mcp.ok("hangar_task_list", {"issue_id": assigned["issue"]["id"]})
    assert [t["id"] for t in tasks] == [task_id]
    shown = wait_until(
        lambda: (
            (s := mcp.ok("hangar_task_show", {"id": task_id}))["task"]["status"] == "done" and s
        ),
        timeout=30,
    )
    assert set(shown) >= {"task", "usage", "message_count"}
    assert "agent" in mcp.error("hangar_issue_create", {"title": "x", "assign": "nobody"})


def test_daemon_unreachable_is_a_tool_error(sandbox: Sandbox) -> None:
    lonely = Path(tempfile.mkdtemp(prefix="hg", dir="/tmp"))
    server = McpProcess(
        sandbox.env(AINB_HANGAR_HOME=str(lonely), HANGAR_NO_AUTOSTART="1"), [], cwd=sandbox.root
    )
    try:
        message = server.error("workspace_list")
        assert "daemon_unreachable" in message and str(lonely) in message
        assert [t for t in server.tool_names()] == list(TOOL_NAMES)  # still serving
    finally:
        server.close()
        shutil.rmtree(lonely, ignore_errors=True)


@pytest.mark.parametrize(
    ("config", "env", "needle"),
    [
        ({"maxWorkspaces": 0}, {}, "maxWorkspaces"),
        ({}, {"HARNESS_MAX_WORKSPACES": "51"}, "HARNESS_MAX_WORKSPACES"),
        ({"idleThresholdMs": -1}, {}, "idleThresholdMs"),
    ],
)
def test_bad_config_exits_before_serving(
    sandbox: Sandbox, config: dict[str, object], env: dict[str, str], needle: str
) -> None:
    path = sandbox.config("bad", **config)
    proc = subprocess.run(
        [HANGAR, "mcp", "--config", str(path)],
        env=sandbox.env(**env),
        input="",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode != 0 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr


def test_stdout_carries_only_protocol_even_across_a_daemon_autostart(sandbox: Sandbox) -> None:
    """Config notes go to stderr; the daemon started by the first tool call writes to its log."""
    home = sandbox.root / "h2"  # a home with no daemon yet: workspace_list autostarts one
    path = sandbox.config("notes", storePath="/x/workspaces.json", colour="blue")
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "workspace_list", "arguments": {}},
        },
    ]
    env = sandbox.env(AINB_HANGAR_HOME=str(home))
    proc = subprocess.Popen(
        [HANGAR, "mcp", "--config", str(path)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    try:
        for msg in messages:
            proc.stdin.write(json.dumps(msg) + "\n")
        proc.stdin.flush()
        replies = [json.loads(proc.stdout.readline()) for _ in range(2)]
        proc.stdin.close()  # EOF: the server exits
        proc.wait(timeout=30)
        rest, err = proc.stdout.read(), proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        subprocess.run(
            [HANGAR, "daemon", "stop"], env=env, capture_output=True, timeout=60, check=False
        )
    assert proc.returncode == 0, err
    assert [r["id"] for r in replies] == [1, 2]
    assert replies[0]["result"]["serverInfo"]["name"] == "hangar"
    assert json.loads(replies[1]["result"]["content"][0]["text"]) == []
    assert rest.strip() == ""  # nothing but the two replies ever reached stdout
    assert "unknown config key 'colour'" in err and "storePath is ignored" in err
