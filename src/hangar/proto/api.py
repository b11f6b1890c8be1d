"""Typed params and results of every method. Params reject unknown fields, so a typo is a
clear -32602 instead of a silently ignored option, and carry their range checks as
constraints, so a bad value is refused once, at the boundary, naming the field and the bound.
``proto.calls`` pairs each method with its params and result type."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from hangar.core.fsm import TaskStatus
from hangar.core.vocab import PRIORITY_MAX, PRIORITY_MIN, IssueState
from hangar.proto.rows import (
    ActorRow,
    AgentRow,
    DependencyRow,
    IssueRow,
    RuntimeRow,
    SessionRow,
    TaskMessageRow,
    TaskRow,
    TaskUsageRow,
    WorkspaceRow,
)

__all__ = [
    "ISSUES_PAGE_MAX",
    "MAX_CONCURRENT_TASKS_LIMIT",
    "MAX_DURATION_MS",
    "MAX_INT64",
    "MAX_SESSIONS_LIMIT",
    "MESSAGES_PAGE_MAX",
    "PATH_MAX",
    "READ_MAX_LINES",
    "SESSION_PREFIX_PATTERN",
    "TASKS_PAGE_MAX",
    "Ack",
    "AgentArg",
    "AgentCreateParams",
    "AgentGetParams",
    "AgentsListResult",
    "AuthHelloParams",
    "ConcurrentTasks",
    "DaemonHealthSnapshot",
    "Empty",
    "FsPath",
    "HealthSnapshot",
    "HistoryLine",
    "IdleThresholdMs",
    "IssueCreateParams",
    "IssueCreateResult",
    "IssueDetail",
    "IssueGetParams",
    "IssueUpdateParams",
    "IssuesListParams",
    "IssuesListResult",
    "IssuesPage",
    "MaxSessions",
    "MessagesPage",
    "Params",
    "PollIntervalMs",
    "PositiveMs",
    "Priority",
    "ReadLines",
    "Result",
    "Seq",
    "SessionAgent",
    "SessionArchiveParams",
    "SessionAttachHint",
    "SessionCreateParams",
    "SessionDeleteParams",
    "SessionDeleteResult",
    "SessionIdleParams",
    "SessionIdleResult",
    "SessionListParams",
    "SessionListResult",
    "SessionPrefix",
    "SessionReadParams",
    "SessionReadResult",
    "SessionRef",
    "SessionResumeParams",
    "SessionSendParams",
    "SessionSendResult",
    "SessionView",
    "SessionWaitIdleParams",
    "SessionWaitIdleResult",
    "SubscribeResult",
    "TaskCleanItem",
    "TaskCleanParams",
    "TaskCleanResult",
    "TaskDetail",
    "TaskIdParams",
    "TaskMessagesParams",
    "TaskMessagesResult",
    "TaskTransitionParams",
    "TasksListParams",
    "TasksListResult",
    "TasksPage",
    "WaitTimeoutMs",
    "WorkspaceCreateParams",
    "WorkspaceRenameParams",
    "WorkspaceScoped",
    "WorkspaceUseParams",
    "WorkspacesResult",
]


class Params(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Base of every params struct. A field left at its default stays off the wire (the
    daemon fills in the same default), so a client sends only what it chose."""


class Result(msgspec.Struct, kw_only=True):
    """Base of every result struct. Unknown fields are ignored: a newer daemon may add some."""


class Empty(Params, kw_only=True):
    pass


class Ack(Result, kw_only=True):
    """The answer of a command that has nothing to report: ``{}``."""


class AuthHelloParams(Params, kw_only=True):
    """The first call of every connection: the contents of the daemon's token file."""

    token: str


#: Bounds of the non-session params (the session ones are below, with their structs).
Priority = Annotated[int, msgspec.Meta(ge=PRIORITY_MIN, le=PRIORITY_MAX)]
#: replies must fit a frame (16 MiB): lists are paged, never unbounded
TASKS_PAGE_MAX = 10_000
MESSAGES_PAGE_MAX = 5_000
TasksPage = Annotated[int, msgspec.Meta(ge=1, le=TASKS_PAGE_MAX)]
ISSUES_PAGE_MAX = 10_000
IssuesPage = Annotated[int, msgspec.Meta(ge=1, le=ISSUES_PAGE_MAX)]
MessagesPage = Annotated[int, msgspec.Meta(ge=1, le=MESSAGES_PAGE_MAX)]
#: what the database's BIGINT holds: a cursor past it is a caller's mistake, said as such
MAX_INT64 = 2**63 - 1
Seq = Annotated[int, msgspec.Meta(ge=0, le=MAX_INT64)]
MAX_CONCURRENT_TASKS_LIMIT = 64
ConcurrentTasks = Annotated[int, msgspec.Meta(ge=1, le=MAX_CONCURRENT_TASKS_LIMIT)]
#: a watchdog longer than thirty days is a typo, not a plan
MAX_DURATION_MS = 30 * 24 * 3600 * 1000
PositiveMs = Annotated[int, msgspec.Meta(gt=0, le=MAX_DURATION_MS)]
#: the longest path the OS takes (PATH_MAX)
PATH_MAX = 4096
FsPath = Annotated[str, msgspec.Meta(max_length=PATH_MAX)]


class WorkspaceScoped(Params, kw_only=True):
    #: slug or id; absent means the daemon's default workspace
    workspace_id: str | None = None


class WorkspaceCreateParams(Params, kw_only=True):
    slug: str
    name: str | None = None


class WorkspaceUseParams(Params, kw_only=True):
    workspace_id: str


class WorkspaceRenameParams(Params, kw_only=True):
    #: slug or id of the workspace to rename
    workspace_id: str
    #: the new slug (the rules of ``workspace/create``)
    slug: str
    #: the new display name; absent: kept, unless it was the old slug (then the new one)
    name: str | None = None


class WorkspacesResult(Result, kw_only=True):
    workspaces: list[WorkspaceRow]


class SubscribeResult(Result, kw_only=True):
    workspace: WorkspaceRow


class IssuesListParams(WorkspaceScoped, kw_only=True):
    state: IssueState | None = None
    #: only issues assigned to members, to agents, or to the workspace's owner (you)
    assigned: Literal["members", "agents", "mine"] | None = None
    #: True: only blocked issues (a blocker not done); False: only ready ones (none)
    blocked: bool | None = None
    #: absent: 1000
    limit: IssuesPage | None = None
    #: the previous page's ``next_before``: the page starts after that issue
    before: str | None = None


class IssuesListResult(Result, kw_only=True):
    #: newest first; long descriptions are clipped here (whole in ``issue_get``)
    issues: list[IssueRow]
    #: set when more issues follow: pass it as ``before`` for the next page
    next_before: str | None = None


class IssueGetParams(WorkspaceScoped, kw_only=True):
    issue_id: str


class IssueDetail(Result, kw_only=True):
    issue: IssueRow
    tasks: list[TaskRow]
    #: what it waits for, oldest edge first, each with its state (docs/lifecycle.md#dependencies)
    blockers: list[DependencyRow] = msgspec.field(default_factory=list)
    #: what waits for it, oldest edge first
    dependents: list[DependencyRow] = msgspec.field(default_factory=list)


class IssueCreateParams(WorkspaceScoped, kw_only=True):
    title: str
    description: str | None = None
    priority: Priority = 0
    repo_path: FsPath | None = None
    assign: str | None = None  # agent name or id
    #: issue ids of this workspace it waits for: while any is not done, ``assign`` queues
    #: nothing, and the last one's finalize queues the task
    blocked_by: list[str] = msgspec.field(default_factory=list)


class IssueCreateResult(Result, kw_only=True):
    issue: IssueRow
    task: TaskRow | None = None


class IssueUpdateParams(WorkspaceScoped, kw_only=True):
    """An edit, in one transaction (docs/lifecycle.md#editing-an-issue); absent fields stay."""

    issue_id: str
    #: along the edges of ``core.issue_fsm.MOVES``; done or cancelled cancels the issue's tasks
    state: IssueState | None = None
    priority: Priority | None = None
    #: an agent's name or id (queues its task), or ``member:<id>``
    assign: str | None = None
    title: str | None = None
    #: ``""`` clears it
    description: str | None = None
    #: nobody holds it any more (a pending task of an agent that held it is cancelled)
    unassign: bool = False


class AgentCreateParams(WorkspaceScoped, kw_only=True):
    name: str
    provider: str
    command: list[str] | None = None
    model: str | None = None
    instructions: str = ""
    max_concurrent_tasks: ConcurrentTasks = 1
    repo_path: FsPath | None = None
    max_runtime_ms: PositiveMs | None = None
    inactivity_timeout_ms: PositiveMs | None = None


class AgentGetParams(WorkspaceScoped, kw_only=True):
    agent: str  # name or id


class AgentsListResult(Result, kw_only=True):
    actors: list[ActorRow]
    agents: list[AgentRow]


class TasksListParams(WorkspaceScoped, kw_only=True):
    status: TaskStatus | None = None
    issue_id: str | None = None
    #: absent: 1000
    limit: TasksPage | None = None
    #: the previous page's ``next_before``: the page starts after that task
    before: str | None = None


class TasksListResult(Result, kw_only=True):
    #: newest first; long results are clipped here (whole in ``task_get``)
    tasks: list[TaskRow]
    #: set when more tasks follow: pass it as ``before`` for the next page
    next_before: str | None = None


class TaskIdParams(WorkspaceScoped, kw_only=True):
    task_id: str


class TaskDetail(Result, kw_only=True):
    task: TaskRow
    usage: list[TaskUsageRow]
    message_count: int


class TaskTransitionParams(WorkspaceScoped, kw_only=True):
    task_id: str
    to_status: TaskStatus


class TaskMessagesParams(WorkspaceScoped, kw_only=True):
    task_id: str
    after_seq: Seq = 0
    #: absent: 1000
    limit: MessagesPage | None = None


class TaskMessagesResult(Result, kw_only=True):
    messages: list[TaskMessageRow]
    status: str
    #: the page was cut short to fit a frame: ask again from the last seq
    more: bool = False


class TaskCleanParams(WorkspaceScoped, kw_only=True):
    #: one task (else every ended task of the workspace with a worktree left)
    task_id: str | None = None
    #: say what would be done, do nothing
    dry_run: bool = False
    #: also remove uncommitted changes and branches with commits their base lacks
    force: bool = False


class TaskCleanItem(Result, kw_only=True):
    task_id: str
    work_dir: str
    #: removed | kept: <why> | gone
    worktree: str
    #: deleted | kept: <why> | none
    branch: str


class TaskCleanResult(Result, kw_only=True):
    items: list[TaskCleanItem]
    dry_run: bool


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


#: Session limits, checked once at the wire: a value outside them is a -32602 that names
#: the field and the bound. tmux rewrites "." and ":" in session names, so a prefix keeps to
#: the name alphabet (\A and \Z: "$" would let a trailing newline through).
SESSION_PREFIX_PATTERN = r"\A[a-z0-9-]{0,30}\Z"
SessionPrefix = Annotated[str, msgspec.Meta(pattern=SESSION_PREFIX_PATTERN)]
#: active sessions of one repository
MAX_SESSIONS_LIMIT = 50
MaxSessions = Annotated[int, msgspec.Meta(ge=1, le=MAX_SESSIONS_LIMIT)]
#: quiet time that counts as idle: 1 ms to 1 h
IdleThresholdMs = Annotated[int, msgspec.Meta(ge=1, le=3_600_000)]
#: how long a wait may block: up to a day
WaitTimeoutMs = Annotated[int, msgspec.Meta(ge=0, le=86_400_000)]
PollIntervalMs = Annotated[int, msgspec.Meta(ge=10, le=60_000)]
READ_MAX_LINES = 2000
ReadLines = Annotated[int, msgspec.Meta(ge=1, le=READ_MAX_LINES)]
HistoryLine = Annotated[int, msgspec.Meta(ge=0, le=MAX_INT64)]
AgentArg = Annotated[str, msgspec.Meta(min_length=1)]
#: the agent CLI a session runs, when its command does not say (a wrapper: `env … claude`,
#: `npx …`, a script); it decides Claude's launch flags, exit and waiting-for-input screens
SessionAgent = Literal["claude", "codex", "gemini"]


class SessionRef(WorkspaceScoped, kw_only=True):
    #: session id, short id or exact name
    id: str


class SessionCreateParams(WorkspaceScoped, kw_only=True):
    name: str
    #: absolute path inside a git repository (the client resolves its default)
    repo_path: FsPath
    branch: str | None = None
    base_branch: str | None = None
    meta: dict[str, str] | None = None
    #: sent once the agent is ready
    prompt: str | None = None
    worktree_root: FsPath | None = None
    #: agent argv; default ["claude"] (also when empty)
    command: list[AgentArg] | None = None
    #: which agent the command runs; default: its first word, if that names one
    agent: SessionAgent | None = None
    session_prefix: SessionPrefix | None = None
    max_sessions: MaxSessions | None = None
    idle_threshold_ms: IdleThresholdMs | None = None


class SessionListParams(WorkspaceScoped, kw_only=True):
    include_archived: bool = False
    #: only sessions of this repository (any path inside it)
    repo_path: FsPath | None = None
    #: none | any | all — block until any/all active sessions are idle (or timeout_ms passes)
    wait_for_idle: Literal["none", "any", "all"] = "none"
    timeout_ms: WaitTimeoutMs = 600_000
    threshold_ms: IdleThresholdMs | None = None


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
    max_sessions: MaxSessions | None = None


class SessionDeleteResult(Result, kw_only=True):
    deleted: bool
    id: str


class SessionSendParams(SessionRef, kw_only=True):
    text: str
    press_enter: bool = True


class SessionSendResult(Result, kw_only=True):
    sent: bool


class SessionReadParams(SessionRef, kw_only=True):
    lines: ReadLines = 200
    #: return only lines after this many lines of the pane's whole history
    since_line: HistoryLine | None = None


class SessionReadResult(Result, kw_only=True):
    content: str
    captured_at: str
    #: lines of history seen but the last (it may still grow); pass back as since_line
    next_line: int | None = None
    #: tmux trimmed its history past since_line: content is the latest lines instead
    truncated: bool = False


class SessionIdleParams(SessionRef, kw_only=True):
    threshold_ms: IdleThresholdMs | None = None


class SessionIdleResult(Result, kw_only=True):
    idle: bool
    state: str
    last_changed_at: str
    elapsed_ms: int
    threshold_ms: int


class SessionWaitIdleParams(SessionRef, kw_only=True):
    timeout_ms: WaitTimeoutMs = 600_000
    threshold_ms: IdleThresholdMs | None = None
    poll_interval_ms: PollIntervalMs = 500


class SessionWaitIdleResult(SessionIdleResult, kw_only=True):
    timed_out: bool


class SessionAttachHint(Result, kw_only=True):
    command: str
    argv: list[str]
