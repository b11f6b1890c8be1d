"""The tool layer in-process, over the SDK's own client, against a scripted daemon connection."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from hangar.client.errors import ConnectionLost, DaemonUnreachable, RemoteError
from hangar.mcp import shapes
from hangar.mcp.backend import Backend
from hangar.mcp.config import McpConfig
from hangar.mcp.server import build_server
from hangar.mcp.tools import TOOL_NAMES
from hangar.proto.calls import Call
from hangar.proto.rows import IssueRow, TaskRow
from mcp import Client

ROW = {
    "id": "01J0SESSION",
    "workspace_id": "w1",
    "name": "feat-a",
    "status": "active",
    "repo_path": "/r",
    "worktree_path": "/wt/feat-a",
    "branch": "feat-a",
    "base_branch": "main",
    "tmux_session": "harness-feat-a",
    "command": ["claude"],
    "meta": {"k": "v"},
    "idle_threshold_ms": 5000,
    "created_at": 1717587000123,
    "updated_at": 1717587000123,
}
ISSUE = msgspec.to_builtins(
    IssueRow(id="i1", workspace_id="w1", title="x", state="open", creator="member:u", created_at=1)
)
TASK = msgspec.to_builtins(
    TaskRow(
        id="t1", workspace_id="w1", runtime_id="r1", agent_id="a1", status="queued", created_at=1
    )
)
IDLE = {
    "idle": True,
    "state": "idle",
    "last_changed_at": "2024-06-05T11:30:00Z",
    "elapsed_ms": 5200,
    "threshold_ms": 5000,
}


class FakeClient:
    """Records each typed call as (method, the params that are set, timeout) and decodes the
    scripted answer into the method's result type, as ``AsyncClient.request`` does."""

    def __init__(self, answer: Callable[[str, dict[str, Any]], Any]) -> None:
        self.answer = answer
        self.calls: list[tuple[str, dict[str, Any], float | None]] = []
        self.closed = False

    async def request(
        self, call: Call[Any, Any], params: msgspec.Struct, *, timeout: float | None
    ) -> Any:
        assert type(params) is call.params
        fields = {k: v for k, v in msgspec.structs.asdict(params).items() if v is not None}
        self.calls.append((call.method, fields, timeout))
        return call.decode_result(self.answer(call.method, fields))

    async def close(self) -> None:
        self.closed = True


class ScriptedBackend(Backend):
    def __init__(self, answer: Callable[[str, dict[str, Any]], Any], workspace: str | None) -> None:
        super().__init__(workspace=workspace)
        self.fake = FakeClient(answer)

    async def _connected(self) -> Any:
        return self.fake


def _default_answer(method: str, params: dict[str, Any]) -> Any:
    return {
        "hangar/session_list": {"sessions": [{"session": ROW, "state": None}]},
        "hangar/session_create": ROW,
        "hangar/session_archive": {**ROW, "status": "archived"},
        "hangar/session_delete": {"deleted": True, "id": ROW["id"]},
        "hangar/session_send": {"sent": True},
        "hangar/session_read": {"content": "hi\n", "captured_at": "t", "next_line": 9},
        "hangar/session_idle": IDLE,
        "hangar/session_wait_idle": {**IDLE, "timed_out": False},
        "hangar/session_attach_hint": {"command": "tmux attach-session -t x", "argv": ["tmux"]},
        "hangar/issues_list": {"issues": [ISSUE]},
        "hangar/tasks_list": {"tasks": [TASK]},
        "hangar/task_get": {"task": TASK, "usage": [], "message_count": 0},
        "hangar/issue_create": {"issue": ISSUE, "task": None},
    }[method]


CONFIG = McpConfig(repo_path="/r", command=["bash", "-l"], max_workspaces=3, workspace="team")


async def _call(
    tool: str,
    args: dict[str, Any],
    answer: Callable[[str, dict[str, Any]], Any] = _default_answer,
) -> tuple[Any, bool, list[tuple[str, dict[str, Any], float | None]]]:
    backend = ScriptedBackend(answer, CONFIG.workspace)
    async with Client(build_server(CONFIG, backend)) as client:
        res = await client.call_tool(tool, args)
    assert len(res.content) == 1
    text = res.content[0].text  # type: ignore[union-attr]
    value = text if res.is_error else json.loads(text)
    return value, bool(res.is_error), backend.fake.calls


async def test_tool_list_and_schemas() -> None:
    async with Client(build_server(CONFIG, ScriptedBackend(_default_answer, None))) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert tuple(tools) == TOOL_NAMES
    for tool in tools.values():
        schema = tool.input_schema
        text = json.dumps(schema)
        assert "enum" not in text and "anyOf" not in text, tool.name
        for name, prop in schema["properties"].items():
            # every optional input declares its default (docs/sessions.md#mcp-server)
            assert name in schema.get("required", []) or "default" in prop, (tool.name, name)
        assert tool.description
    props = tools["workspace_send"].input_schema["properties"]
    assert props["press_enter"] == {
        "default": True,
        "description": "Press Enter after the text.",
        "title": "Press Enter",
        "type": "boolean",
    }
    assert tools["workspace_delete"].input_schema["required"] == ["id", "confirm"]
    assert tools["workspace_list"].input_schema["properties"]["wait_for_idle"]["type"] == "string"
    assert tools["workspace_wait_idle"].input_schema["properties"]["timeout_ms"]["default"] == (
        600_000
    )


async def test_create_carries_config_and_returns_the_workspace_shape() -> None:
    value, err, calls = await _call(
        "workspace_create", {"name": "feat-a", "branch": "", "meta": {"k": "v"}, "prompt": "go"}
    )
    assert not err
    method, params, _ = calls[0]
    assert method == "hangar/session_create"
    assert params == {
        "workspace_id": "team",
        "name": "feat-a",
        "repo_path": "/r",
        "command": ["bash", "-l"],
        "session_prefix": "harness-",
        "max_sessions": 3,
        "idle_threshold_ms": 5000,
        "meta": {"k": "v"},
        "prompt": "go",
    }  # "" for branch counts as absent
    assert value == {
        "id": "01J0SESSION",
        "name": "feat-a",
        "status": "active",
        "branch": "feat-a",
        "tmuxSession": "harness-feat-a",
        "createdAt": "2024-06-05T11:30:00.123Z",
        "worktreePath": "/wt/feat-a",
        "baseBranch": "main",
        "repoPath": "/r",
        "meta": {"k": "v"},
    }


async def test_list_is_a_json_array_with_state_when_waited() -> None:
    value, err, calls = await _call("workspace_list", {})
    assert not err and isinstance(value, list) and value[0]["tmuxSession"] == "harness-feat-a"
    assert "state" not in value[0]
    assert calls[0][1] == {
        "workspace_id": "team",
        "repo_path": "/r",  # scoped to the server's repository
        "include_archived": False,
        "wait_for_idle": "none",
        "timeout_ms": 600_000,
    }

    def waited(method: str, params: dict[str, Any]) -> Any:
        return {"sessions": [{"session": ROW, "state": "idle"}], "timed_out": False}

    value, err, calls = await _call(
        "workspace_list", {"wait_for_idle": "ANY", "timeout_ms": 2000}, waited
    )
    assert value[0]["state"] == "idle"
    assert calls[0][1]["wait_for_idle"] == "any"
    assert calls[0][2] == pytest.approx(32.0)  # the daemon's wait plus slack

    value, err, calls = await _call("workspace_list", {"wait_for_idle": "some"})
    assert err and "invalid_params" in value and calls == []


async def test_simple_shapes() -> None:
    assert (await _call("workspace_send", {"id": "a", "text": "x"}))[0] == {"sent": True}
    assert (await _call("workspace_delete", {"id": "a", "confirm": True}))[0] == {
        "deleted": True,
        "id": "01J0SESSION",
    }
    assert (await _call("workspace_archive", {"id": "a"}))[0]["status"] == "archived"
    assert (await _call("workspace_attach_hint", {"id": "a"}))[0] == {
        "command": "tmux attach-session -t x"
    }
    assert (await _call("workspace_read", {"id": "a"}))[0] == {
        "content": "hi\n",
        "captured_at": "t",
    }
    assert (await _call("workspace_read", {"id": "a", "since_line": 0}))[0]["next_line"] == 9
    assert (await _call("workspace_idle", {"id": "a"}))[0] == {
        "Idle": True,
        "LastChangedAt": "2024-06-05T11:30:00Z",
        "ElapsedMs": 5200,
        "ThresholdMs": 5000,
        "State": "idle",
    }
    assert set((await _call("workspace_wait_idle", {"id": "a"}))[0]) == {
        "idle",
        "timed_out",
        "last_changed_at",
        "elapsed_ms",
        "threshold_ms",
        "state",
    }
    assert (await _call("hangar_issue_list", {}))[0] == [ISSUE]
    assert (await _call("hangar_task_list", {}))[0] == [TASK]
    assert (await _call("hangar_task_show", {"id": "t1"}))[0]["message_count"] == 0
    assert (await _call("hangar_issue_create", {"title": "x"}))[0]["issue"] == ISSUE


async def test_defaults_reach_the_daemon() -> None:
    _, _, calls = await _call("workspace_send", {"id": "a", "text": "x"})
    assert calls[0][1] == {"workspace_id": "team", "id": "a", "text": "x", "press_enter": True}
    _, _, calls = await _call("workspace_read", {"id": "a"})
    assert calls[0][1]["lines"] == 200 and "since_line" not in calls[0][1]
    _, _, calls = await _call("hangar_task_list", {})
    assert calls[0][1]["limit"] == 50
    # zero values from clients that always send every field mean "the default"
    _, _, calls = await _call(
        "workspace_wait_idle",
        {"id": "a", "timeout_ms": 0, "threshold_ms": 0, "poll_interval_ms": 0},
    )
    _method, params, timeout = calls[0]
    assert params == {
        "workspace_id": "team",
        "id": "a",
        "timeout_ms": 600_000,
        "poll_interval_ms": 500,
    }
    assert timeout == pytest.approx(630.0)


async def test_schema_violations_read_as_one_line() -> None:
    value, err, calls = await _call("workspace_delete", {"id": "a"})
    assert err and calls == []
    assert value == "Error executing tool workspace_delete: invalid_params: confirm: Field required"
    value, err, _ = await _call("workspace_read", {"id": "a", "lines": "many"})
    assert err and "invalid_params: lines: Input should be a valid integer" in value
    assert "\n" not in value


@pytest.mark.parametrize(
    ("tool", "args", "message"),
    [
        ("workspace_wait_idle", {"timeout_ms": -5}, "timeout_ms must be 0 (the default) or more"),
        ("workspace_wait_idle", {"poll_interval_ms": -1}, "poll_interval_ms must be 0"),
        ("workspace_wait_idle", {"threshold_ms": -1}, "threshold_ms must be positive"),
        ("workspace_list", {"wait_for_idle": "any", "timeout_ms": -5}, "timeout_ms must be 0"),
    ],
)
async def test_negative_durations_are_refused_not_defaulted(
    tool: str, args: dict[str, Any], message: str
) -> None:
    value, err, calls = await _call(tool, {"id": "a", **args} if tool != "workspace_list" else args)
    assert err and f"invalid_params: {message}" in value and calls == []


@pytest.mark.parametrize("lines", [0, -1, 2001])
async def test_read_lines_bounds(lines: int) -> None:
    value, err, calls = await _call("workspace_read", {"id": "a", "lines": lines})
    assert err and "lines must be 1-2000" in value and calls == []


@pytest.mark.parametrize(
    ("exc", "needle"),
    [
        (RemoteError(-32010, "no session 'x'", {"kind": "not_found"}), "not_found: no session 'x'"),
        (RemoteError(-32011, "busy", {"kind": "not_active"}), "not_active: busy"),
        (RemoteError(-32011, "conflict without kind"), "conflict: conflict without kind"),
        (RemoteError(-32603, "boom\nline two"), "error: boom line two"),
        (DaemonUnreachable("cannot reach", detail="  a\n  why it died"), "daemon_unreachable"),
        (ConnectionLost("gone"), "daemon_unreachable: gone"),
    ],
)
async def test_errors_are_tool_errors_with_a_kind(exc: Exception, needle: str) -> None:
    def fail(method: str, params: dict[str, Any]) -> Any:
        raise exc

    value, err, _ = await _call("workspace_send", {"id": "x", "text": "t"}, fail)
    assert err and needle in value and "\n" not in value
    assert value.startswith("Error executing tool workspace_send: ")


def test_iso_ms() -> None:
    assert shapes.iso_ms(0) == "1970-01-01T00:00:00.000Z"
    assert shapes.iso_ms(None) is None


@pytest.mark.parametrize(
    ("tool", "args", "message"),
    [
        ("hangar_issue_list", {"state": "closed"}, "state must be one of open, in_progress"),
        ("hangar_task_list", {"status": "stuck"}, "status must be one of queued, dispatched"),
    ],
)
async def test_unknown_words_are_refused_here(
    tool: str, args: dict[str, Any], message: str
) -> None:
    value, err, calls = await _call(tool, args)
    assert err and f"invalid_params: {message}" in value and calls == []


async def test_words_reach_the_daemon() -> None:
    _, _, calls = await _call("hangar_issue_list", {"state": "in_progress"})
    assert calls[0][1] == {"workspace_id": "team", "state": "in_progress"}
    _, _, calls = await _call("hangar_task_list", {"status": ""})  # a zero value: absent
    assert calls[0][1] == {"workspace_id": "team", "limit": 50}
