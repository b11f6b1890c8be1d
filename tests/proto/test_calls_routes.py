"""The daemon's side of the typed contract: its routes take the descriptors' params structs,
and what its handlers answer decodes into the descriptors' result types."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import pytest

from hangar.core.fsm import TaskStatus
from hangar.core.vocab import IssueState
from hangar.proto import api, calls
from hangar.testing import InProcessDaemon, daemon_in_process

P = TypeVar("P", bound=msgspec.Struct)
R = TypeVar("R", bound=msgspec.Struct)


@pytest.fixture
async def hangar(tmp_path: Path) -> AsyncIterator[InProcessDaemon]:
    async with daemon_in_process(tmp_path / "h") as daemon:
        yield daemon


async def _typed(d: InProcessDaemon, call: calls.Call[P, R], params: P) -> R:
    """As a client would: the params struct on the wire, the result decoded by the descriptor."""
    return call.decode_result(await d.call(call.method, msgspec.to_builtins(params)))


async def test_every_described_method_is_routed_with_its_params(hangar: InProcessDaemon) -> None:
    routed: dict[str, Any] = {route.method: route.params for route in hangar.routes}
    # auth/hello is the handshake: the server answers it before any routing
    described = {c.method: c.params for c in calls.ALL if c is not calls.AUTH_HELLO}
    assert routed == described


async def test_answers_fit_the_result_types(hangar: InProcessDaemon) -> None:
    d = hangar
    assert await _typed(d, calls.PING, api.Empty()) == api.Ack()
    spaces = await _typed(d, calls.WORKSPACE_LIST, api.Empty())
    assert [w.slug for w in spaces.workspaces] == ["default"]
    other = await _typed(d, calls.WORKSPACE_CREATE, api.WorkspaceCreateParams(slug="other"))
    assert (await _typed(d, calls.WORKSPACE_USE, api.WorkspaceUseParams(workspace_id="other"))).id
    here = api.WorkspaceScoped(workspace_id=other.id)
    assert (await _typed(d, calls.WORKSPACE_SUBSCRIBE, here)).workspace.slug == "other"

    agent = await _typed(
        d,
        calls.AGENT_CREATE,
        api.AgentCreateParams(name="bot", provider="command", command=["true"]),
    )
    assert (await _typed(d, calls.AGENT_GET, api.AgentGetParams(agent="bot"))).id == agent.id
    assert [a.name for a in (await _typed(d, calls.AGENTS_LIST, api.WorkspaceScoped())).agents] == [
        "bot"
    ]

    created = await _typed(
        d, calls.ISSUE_CREATE, api.IssueCreateParams(title="t", priority=3, assign="bot")
    )
    assert created.task is not None and created.issue.priority == 3
    issue_id, task_id = created.issue.id, created.task.id
    listed = await _typed(d, calls.ISSUES_LIST, api.IssuesListParams(state=IssueState.OPEN))
    assert [i.id for i in listed.issues] == [issue_id]
    detail = await _typed(d, calls.ISSUE_GET, api.IssueGetParams(issue_id=issue_id))
    assert [t.id for t in detail.tasks] == [task_id]

    queued = api.TasksListParams(status=TaskStatus.QUEUED, limit=5)
    assert [t.id for t in (await _typed(d, calls.TASKS_LIST, queued)).tasks] == [task_id]
    task = api.TaskIdParams(task_id=task_id)
    assert (await _typed(d, calls.TASK_GET, task)).message_count == 0
    messages = await _typed(d, calls.TASK_MESSAGES, api.TaskMessagesParams(task_id=task_id))
    assert (messages.messages, messages.status) == ([], "queued")
    assert (await _typed(d, calls.TASK_CANCEL, task)).status == "cancelled"
    retry = await _typed(d, calls.TASK_RETRY, task)
    back = api.TaskTransitionParams(task_id=retry.id, to_status=TaskStatus.CANCELLED)
    assert await _typed(d, calls.TASK_TRANSITION, back) == api.Ack()

    update = api.IssueUpdateParams(issue_id=issue_id, state=IssueState.DONE, priority=0)
    updated = await _typed(d, calls.ISSUE_UPDATE, update)
    assert (updated.state, updated.priority) == ("done", 0)

    health = await _typed(d, calls.DAEMON_HEALTH, api.WorkspaceScoped())
    assert len(health.success_ring) == len(health.failure_ring)
    sessions = await _typed(d, calls.SESSION_LIST, api.SessionListParams())
    assert sessions.sessions == [] and not sessions.timed_out
