"""Rows as they cross the wire. The store returns these; snapshots and events carry them."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "ActorRow",
    "AgentRow",
    "DependencyRow",
    "IssueRow",
    "Row",
    "RuntimeRow",
    "SessionRow",
    "TaskMessageRow",
    "TaskRow",
    "TaskUsageRow",
    "WorkspaceRow",
]


class Row(msgspec.Struct, kw_only=True):
    """Base of every wire row: keyword-only, encodes to a JSON object."""


class WorkspaceRow(Row, kw_only=True):
    id: str
    slug: str
    name: str
    created_at: int
    is_default: bool = False


class RuntimeRow(Row, kw_only=True):
    id: str
    workspace_id: str
    daemon_id: str
    provider: str
    runtime_mode: str
    status: str
    last_seen_at: int | None = None


class AgentRow(Row, kw_only=True):
    id: str
    workspace_id: str
    name: str
    runtime_id: str
    provider: str
    command: list[str] | None = None
    model: str | None = None
    instructions: str = ""
    max_concurrent_tasks: int = 1
    repo_path: str | None = None
    max_runtime_ms: int | None = None
    inactivity_timeout_ms: int | None = None
    visibility: str = "workspace"
    owner_id: str
    created_at: int


class ActorRow(Row, kw_only=True):
    """Members and agents in one list, for pickers (docs/wire-protocol.md#rows)."""

    actor_ref: str
    display_name: str
    subtitle: str
    presence: str
    is_agent: bool
    recent_rank: int | None = None


class IssueRow(Row, kw_only=True):
    id: str
    workspace_id: str
    title: str
    description: str | None = None
    state: str
    priority: int = 0
    repo_path: str | None = None
    assignee: str | None = None  # "agent:<id>" or "member:<id>"
    creator: str
    created_at: int
    #: why it waits (``core.dependencies.Blockage.reason``: "blocked by <id>, …", or
    #: "blocked: <id> failed|cancelled|deleted"); None when nothing blocks it
    blocked: str | None = None


class DependencyRow(Row, kw_only=True):
    """The issue at the other end of a dependency edge (a blocker, or a dependent)."""

    issue_id: str
    #: None when that issue is gone (a deleted blocker)
    title: str | None = None
    state: str | None = None
    #: done | pending | failed | cancelled | deleted (``core.dependencies.BlockerStanding``)
    standing: str
    #: the status of its newest task, if it has one
    last_task: str | None = None


class TaskRow(Row, kw_only=True):
    id: str
    workspace_id: str
    runtime_id: str
    agent_id: str
    issue_id: str | None = None
    status: str
    priority: int = 0
    attempt: int = 1
    max_attempts: int = 2
    parent_task_id: str | None = None
    failure_reason: str | None = None
    result: dict[str, Any] | None = None
    session_id: str | None = None
    work_dir: str | None = None
    autopilot_run_id: str | None = None
    created_at: int
    dispatched_at: int | None = None
    started_at: int | None = None
    finished_at: int | None = None
    #: a cancel was asked for while the task held a process; its daemon finalizes it
    cancel_requested_at: int | None = None


class TaskMessageRow(Row, kw_only=True):
    task_id: str
    seq: int
    kind: str  # agent | thinking | tool_call | tool_result | error
    body: str
    created_at: int


class TaskUsageRow(Row, kw_only=True):
    task_id: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    cost_usd: float | None = None


class SessionRow(Row, kw_only=True):
    """An interactive agent session: a git worktree opened in its own tmux session."""

    id: str
    workspace_id: str
    name: str
    #: creating | active | archived | orphaned
    status: str
    repo_path: str
    worktree_path: str
    branch: str
    #: the session created its branch (delete removes only branches it created)
    owns_branch: bool = False
    base_branch: str | None = None
    tmux_session: str
    #: the agent's tmux pane (%N), once launched
    pane_id: str | None = None
    command: list[str]
    #: claude | codex | gemini: said at create, or named by the command's first word; None
    #: when neither says (the screen tells, see docs/sessions.md#idle)
    agent: str | None = None
    #: the agent's own conversation id (Claude: --session-id), used by resume
    agent_session_id: str | None = None
    meta: dict[str, str] = msgspec.field(default_factory=dict)
    idle_threshold_ms: int
    created_at: int
    updated_at: int
    archived_at: int | None = None
