"""Typed params and results of every method. Params reject unknown fields, so a typo is a
clear -32602 instead of a silently ignored option."""

from __future__ import annotations

import msgspec

from hangar.proto.rows import (
    ActorRow,
    AgentRow,
    IssueRow,
    RuntimeRow,
    SessionRow,
    TaskMessageRow,
    TaskRow,
    TaskUsageRow,
    WorkspaceRow,
)


class Params(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class Result(msgspec.Struct, kw_only=True):
    pass


class Empty(Params, kw_only=True):
    pass


class WorkspaceScoped(Params, kw_only=True):
    #: slug or id; absent means the daemon's default workspace
    workspace_id: str | None = None


class WorkspaceCreateParams(Params, kw_only=True):
    slug: str
    name: str | None = None


class WorkspaceUseParams(Params, kw_only=True):
    workspace_id: str


class WorkspacesResult(Result, kw_only=True):
    workspaces: list[WorkspaceRow]


class SubscribeResult(Result, kw_only=True):
    workspace: WorkspaceRow


class IssuesListParams(WorkspaceScoped, kw_only=True):
    state: str | None = None


class IssuesListResult(Result, kw_only=True):
    issues: list[IssueRow]


class IssueGetParams(WorkspaceScoped, kw_only=True):
    issue_id: str


class IssueDetail(Result, kw_only=True):
    issue: IssueRow
    tasks: list[TaskRow]


class IssueCreateParams(WorkspaceScoped, kw_only=True):
    title: str
    description: str | None = None
    priority: int = 0
    repo_path: str | None = None
    assign: str | None = None  # agent name or id


class IssueCreateResult(Result, kw_only=True):
    issue: IssueRow
    task: TaskRow | None = None


class IssueUpdateParams(WorkspaceScoped, kw_only=True):
    issue_id: str
    state: str | None = None
    priority: int | None = None


class AgentCreateParams(WorkspaceScoped, kw_only=True):
    name: str
    provider: str
    command: list[str] | None = None
    model: str | None = None
    instructions: str = ""
    max_concurrent_tasks: int = 1
    repo_path: str | None = None
    max_runtime_ms: int | None = None
    inactivity_timeout_ms: int | None = None


class AgentGetParams(WorkspaceScoped, kw_only=True):
    agent: str  # name or id


class AgentsListResult(Result, kw_only=True):
    actors: list[ActorRow]
    agents: list[AgentRow]


class TasksListParams(WorkspaceScoped, kw_only=True):
    status: str | None = None
    issue_id: str | None = None
    limit: int | None = None


class TasksListResult(Result, kw_only=True):
    tasks: list[TaskRow]


class TaskIdParams(WorkspaceScoped, kw_only=True):
    task_id: str


class TaskDetail(Result, kw_only=True):
    task: TaskRow
    usage: list[TaskUsageRow]
    message_count: int


class TaskTransitionParams(WorkspaceScoped, kw_only=True):
    task_id: str
    to_status: str


class TaskMessagesParams(WorkspaceScoped, kw_only=True):
    task_id: str
    after_seq: int = 0
    limit: int | None = None


class TaskMessagesResult(Result, kw_only=True):
    messages: list[TaskMessageRow]
    status: str


class HealthSnapshot(Result, kw_only=True):
    socket_path: str
    pid: int
    uptime_secs: float
    version: str
    connected: int
    database: str
    migrated: bool
    revision: str | None = None
    daemon_id: str


class DaemonHealthSnapshot(Result, kw_only=True):
    runtimes: list[RuntimeRow]
    slots_total: int
    slots_used: int
    concurrent_tasks: int
    queued_tasks: int
    #: 60 one-second buckets, oldest first
    success_ring: list[int]
    failure_ring: list[int]


# -- interactive sessions (tmux + worktree) ------------------------------------------------------


class SessionRef(WorkspaceScoped, kw_only=True):
    #: session id, short id or exact name
    id: str


class SessionCreateParams(WorkspaceScoped, kw_only=True):
    name: str
    #: absolute path inside a git repository (the client resolves its default)
    repo_path: str
    branch: str | None = None
    base_branch: str | None = None
    meta: dict[str, str] | None = None
    #: sent once the agent is ready
    prompt: str | None = None
    worktree_root: str | None = None
    #: agent argv; default ["claude"]
    command: list[str] | None = None
    session_prefix: str | None = None
    max_sessions: int | None = None
    idle_threshold_ms: int | None = None


class SessionListParams(WorkspaceScoped, kw_only=True):
    include_archived: bool = False
    #: only sessions of this repository (any path inside it)
    repo_path: str | None = None
    #: none | any | all — block until any/all active sessions are idle (or timeout_ms passes)
    wait_for_idle: str = "none"
    timeout_ms: int = 600_000
    threshold_ms: int | None = None


class SessionView(Result, kw_only=True):
    session: SessionRow
    #: busy | idle | waiting_for_input | exited; present when the list waited or probed
    state: str | None = None


class SessionListResult(Result, kw_only=True):
    sessions: list[SessionView]
    timed_out: bool = False


class SessionDeleteParams(SessionRef, kw_only=True):
    confirm: bool = False
    force: bool = False


class SessionArchiveParams(SessionRef, kw_only=True):
    force: bool = False


class SessionResumeParams(SessionRef, kw_only=True):
    #: the cap of active sessions per repository that the relaunch must respect
    max_sessions: int | None = None


class SessionDeleteResult(Result, kw_only=True):
    deleted: bool
    id: str


class SessionSendParams(SessionRef, kw_only=True):
    text: str
    press_enter: bool = True


class SessionSendResult(Result, kw_only=True):
    sent: bool


class SessionReadParams(SessionRef, kw_only=True):
    lines: int = 200
    #: return only lines after this many lines of the pane's whole history
    since_line: int | None = None


class SessionReadResult(Result, kw_only=True):
    content: str
    captured_at: str
    #: lines of history seen but the last (it may still grow); pass back as since_line
    next_line: int | None = None
    #: tmux trimmed its history past since_line: content is the latest lines instead
    truncated: bool = False


class SessionIdleParams(SessionRef, kw_only=True):
    threshold_ms: int | None = None


class SessionIdleResult(Result, kw_only=True):
    idle: bool
    state: str
    last_changed_at: str
    elapsed_ms: int
    threshold_ms: int


class SessionWaitIdleParams(SessionRef, kw_only=True):
    timeout_ms: int = 600_000
    threshold_ms: int | None = None
    poll_interval_ms: int = 500


class SessionWaitIdleResult(SessionIdleResult, kw_only=True):
    timed_out: bool


class SessionAttachHint(Result, kw_only=True):
    command: str
    argv: list[str]
