"""Values the database or the OS cannot hold are refused at the wire, naming the field."""

from __future__ import annotations

import pytest

from hangar.proto.jsonrpc import INVALID_PARAMS, RpcError
from hangar.testing import InProcessDaemon

HUGE = 2**63


async def _refused(hangar: InProcessDaemon, method: str, params: dict, field: str) -> None:
    with pytest.raises(RpcError) as info:
        await hangar.call(method, params)
    assert info.value.code == INVALID_PARAMS
    assert field in info.value.message, info.value.message


async def test_integers_past_64_bits_and_absurd_durations(hangar: InProcessDaemon) -> None:
    agent = {"name": "a", "provider": "command", "command": ["true"]}
    for field in ("max_runtime_ms", "inactivity_timeout_ms"):
        await _refused(hangar, "hangar/agent_create", {**agent, field: HUGE}, field)
        await _refused(hangar, "hangar/agent_create", {**agent, field: 10**12}, field)
    made = await hangar.call("hangar/agent_create", agent)
    assert made["name"] == "a"
    issue = await hangar.call("hangar/issue_create", {"title": "t", "assign": "a"})
    task_id = issue["task"]["id"]
    await _refused(
        hangar, "hangar/task_messages", {"task_id": task_id, "after_seq": HUGE}, "after_seq"
    )
    page = await hangar.call("hangar/task_messages", {"task_id": task_id, "after_seq": 2**63 - 1})
    assert page["messages"] == []


async def test_paths_longer_than_the_os_takes(hangar: InProcessDaemon) -> None:
    long = "/" + "x" * 5000
    await _refused(hangar, "hangar/issue_create", {"title": "t", "repo_path": long}, "repo_path")
    await _refused(
        hangar,
        "hangar/agent_create",
        {"name": "a", "provider": "command", "command": ["true"], "repo_path": long},
        "repo_path",
    )
    await _refused(hangar, "hangar/session_create", {"name": "s", "repo_path": long}, "repo_path")
    await _refused(
        hangar,
        "hangar/session_create",
        {"name": "s", "repo_path": "/tmp", "worktree_root": long},
        "worktree_root",
    )


async def test_instructions_are_capped_like_descriptions(hangar: InProcessDaemon) -> None:
    agent = {"name": "a", "provider": "command", "command": ["true"]}
    await _refused(
        hangar, "hangar/agent_create", {**agent, "instructions": "x" * (15 * 2**20)}, "instructions"
    )
    await _refused(
        hangar, "hangar/agent_create", {**agent, "instructions": "a\x00b"}, "instructions"
    )
    made = await hangar.call("hangar/agent_create", {**agent, "instructions": "y" * 20_000})
    assert len(made["instructions"]) == 20_000
