"""The published ``workspace_*`` tools plus the ``hangar_*`` ones (docs/sessions.md#mcp-server);
the autopilot, skill and template tools live in ``tools_autopilots``.

Each tool checks only what the surface documents about its own inputs, calls one daemon method,
and reshapes the answer. Schema notes: every default is declared, so a client
that fills in zero values cannot turn ``press_enter`` off by accident; ``wait_for_idle`` is a
plain string, not an enum, because enum schemas broke Claude Code's parser; optional inputs
are a bare type with ``default: null`` rather than an ``anyOf`` with null.
"""

from __future__ import annotations

import enum
import os
from typing import Annotated, Any, Literal, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult
from pydantic import Field, ValidationError
from pydantic.json_schema import SkipJsonSchema

from hangar.adapters.repos import enclosing_repository
from hangar.core.fsm import TaskStatus
from hangar.core.vocab import IssueState
from hangar.mcp import shapes
from hangar.mcp.backend import DEFAULT_CALL_TIMEOUT_S, Backend
from hangar.mcp.common import OptInt, OptList, OptStr, blank, ok, or_default, word
from hangar.mcp.config import McpConfig
from hangar.mcp.tools_autopilots import AUTOPILOT_TOOL_NAMES, ToolFn, autopilot_tools
from hangar.mcp.tools_issues import ISSUE_TOOL_NAMES, issue_tools
from hangar.proto import api, calls

__all__ = ["TOOL_NAMES", "build_tools"]

V = TypeVar("V", bound=enum.StrEnum)

TOOL_NAMES = (
    "workspace_list",
    "workspace_create",
    "workspace_archive",
    "workspace_delete",
    "workspace_send",
    "workspace_read",
    "workspace_idle",
    "workspace_wait_idle",
    "workspace_attach_hint",
    "workspace_resume",
    "hangar_issue_create",
    "hangar_issue_list",
    *ISSUE_TOOL_NAMES,
    "hangar_task_list",
    "hangar_task_show",
    *AUTOPILOT_TOOL_NAMES,
)

DEFAULT_WAIT_MS = 600_000
DEFAULT_POLL_MS = 500
DEFAULT_READ_LINES = 200
MAX_READ_LINES = api.READ_MAX_LINES
WaitFor = Literal["none", "any", "all"]  # core.vocab.WaitMode, as the wire struct spells it
WAIT_MODES: tuple[WaitFor, ...] = ("none", "any", "all")
_WAIT_SLACK_S = 30.0
CREATE_TIMEOUT_S = 660.0
"""On top of a blocking call's own timeout_ms: the daemon answers at its deadline, not before."""

Id = Annotated[str, Field(description="Workspace id, short id or exact name.")]
ThresholdMs = Annotated[
    OptInt,
    Field(description="Idle threshold override in ms (absent or 0: the configured default)."),
]


class _Tool(Tool):
    """Reports arguments that fail the schema as one ``invalid_params`` line.

    The SDK's own message is pydantic's multi-line report, which reads badly in a tool result.
    """

    async def run(
        self, arguments: dict[str, Any], context: Context[Any, Any], convert_result: bool = False
    ) -> Any:
        try:
            return await super().run(arguments, context, convert_result)
        except ToolError as exc:
            cause = exc.__cause__
            if not isinstance(cause, ValidationError):
                raise
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                for err in cause.errors()
            )
            message = f"Error executing tool {self.name}: invalid_params: {problems}"
            raise ToolError(message) from cause


def _vocab(vocab: type[V], name: str, value: str | None) -> V | None:
    """A word of a core vocabulary, checked here so the model reads what the words are."""
    if not value:
        return None
    try:
        return vocab(value)
    except ValueError:
        words = ", ".join(vocab)
        raise ToolError(f"invalid_params: {name} must be one of {words}, got {value!r}") from None


def _threshold(value: int | None) -> int | None:
    if value is None or value == 0:
        return None
    if value < 0:
        raise ToolError(f"invalid_params: threshold_ms must be positive, got {value}")
    return value


def _wait_timeout_s(timeout_ms: int) -> float:
    return timeout_ms / 1000 + _WAIT_SLACK_S


def build_tools(config: McpConfig, backend: Backend) -> list[Tool]:
    async def workspace_list(
        include_archived: Annotated[
            bool, Field(description="Also list archived and orphaned workspaces.")
        ] = False,
        wait_for_idle: Annotated[
            str,
            Field(
                description='"none" (default), "any" or "all": block until any/all active '
                "workspaces are idle or timeout_ms passes; each entry then carries its state."
            ),
        ] = "none",
        timeout_ms: Annotated[
            int, Field(description="Longest wait for wait_for_idle, in ms (0: the default).")
        ] = DEFAULT_WAIT_MS,
    ) -> CallToolResult:
        """List workspaces: [{id, name, status, branch, tmuxSession, createdAt, worktreePath}]."""
        asked = (wait_for_idle or "none").strip().lower()
        mode = next((mode for mode in WAIT_MODES if mode == asked), None)
        if mode is None:
            raise ToolError(
                f'invalid_params: wait_for_idle must be "none", "any" or "all", '
                f"got {wait_for_idle!r}"
            )
        timeout_ms = or_default("timeout_ms", timeout_ms, DEFAULT_WAIT_MS)
        params = api.SessionListParams(
            # one repository per server (docs/sessions.md#mcp-server): others stay out
            repo_path=config.repo_path,
            include_archived=include_archived,
            wait_for_idle=mode,
            timeout_ms=timeout_ms,
        )
        res = await backend.request(
            calls.SESSION_LIST,
            params,
            timeout=_wait_timeout_s(timeout_ms) if mode != "none" else DEFAULT_CALL_TIMEOUT_S,
        )
        return ok([shapes.workspace(view) for view in res.sessions])

    async def workspace_create(
        name: Annotated[
            str,
            Field(description="Lowercase letters, digits and hyphens, 1-40 chars."),
        ],
        branch: Annotated[
            OptStr, Field(description="Git branch to create (default: the name).")
        ] = None,
        meta: Annotated[
            dict[str, str] | SkipJsonSchema[None],
            Field(description="Free-form string key-value metadata."),
        ] = None,
        base_branch: Annotated[
            OptStr, Field(description="Branch or commit to start from (default: HEAD).")
        ] = None,
        prompt: Annotated[
            OptStr, Field(description="First message, sent once the agent is ready.")
        ] = None,
    ) -> CallToolResult:
        """Create a workspace: a git worktree plus a tmux session running the agent."""
        params = config.create_params(
            name,
            branch=blank(branch),
            meta=meta or None,
            base_branch=blank(base_branch),
            prompt=blank(prompt),
        )
        # a big checkout plus up to 30 s waiting for the agent before the prompt
        row = await backend.request(calls.SESSION_CREATE, params, timeout=CREATE_TIMEOUT_S)
        return ok(shapes.workspace(row))

    async def workspace_archive(
        id: Id,
        force: Annotated[
            bool, Field(description="Archive even with uncommitted or unpushed work.")
        ] = False,
    ) -> CallToolResult:
        """Shut a workspace down: exit the agent, remove the worktree, keep the branch."""
        res = await backend.request(
            calls.SESSION_ARCHIVE, api.SessionArchiveParams(id=id, force=force)
        )
        return ok(shapes.workspace(res))

    async def workspace_delete(
        id: Id,
        confirm: Annotated[bool, Field(description="Must be true: deletion is irreversible.")],
        force: Annotated[
            bool, Field(description="Delete even with uncommitted or unpushed work.")
        ] = False,
    ) -> CallToolResult:
        """Permanently delete a workspace. Returns {"deleted": true, "id": "<id>"}."""
        params = api.SessionDeleteParams(id=id, confirm=confirm, force=force)
        res = await backend.request(calls.SESSION_DELETE, params)
        return ok({"deleted": res.deleted, "id": res.id})

    async def workspace_send(
        id: Id,
        text: Annotated[
            str, Field(description="Text to type; no control characters except \\n and \\t.")
        ],
        press_enter: Annotated[bool, Field(description="Press Enter after the text.")] = True,
    ) -> CallToolResult:
        """Send text to the agent in a workspace (at most one send per 200 ms; extra waits)."""
        params = api.SessionSendParams(id=id, text=text, press_enter=press_enter)
        res = await backend.request(calls.SESSION_SEND, params)
        return ok({"sent": res.sent})

    async def workspace_read(
        id: Id,
        lines: Annotated[
            int, Field(description=f"How many recent lines (1-{MAX_READ_LINES}).")
        ] = DEFAULT_READ_LINES,
        since_line: Annotated[
            OptInt,
            Field(
                description="Only lines from this one on; pass back next_line to read what's "
                "new (the last line comes again, whole: it may have grown)."
            ),
        ] = None,
    ) -> CallToolResult:
        """Capture recent terminal output: {"content", "captured_at"} (+ "next_line")."""
        if not 1 <= lines <= MAX_READ_LINES:
            raise ToolError(f"invalid_params: lines must be 1-{MAX_READ_LINES}, got {lines}")
        if since_line is not None and since_line < 0:
            raise ToolError(f"invalid_params: since_line must be >= 0, got {since_line}")
        params = api.SessionReadParams(id=id, lines=lines, since_line=since_line)
        res = await backend.request(calls.SESSION_READ, params)
        return ok(shapes.read(res, since=since_line is not None))

    async def workspace_idle(id: Id, threshold_ms: ThresholdMs = None) -> CallToolResult:
        """Is the workspace busy or idle? {Idle, LastChangedAt, ElapsedMs, ThresholdMs, State}."""
        params = api.SessionIdleParams(id=id, threshold_ms=_threshold(threshold_ms))
        res = await backend.request(calls.SESSION_IDLE, params)
        return ok(shapes.idle(res))

    async def workspace_wait_idle(
        id: Id,
        timeout_ms: Annotated[
            int, Field(description="Longest wait in ms (0: the default, 10 minutes).")
        ] = DEFAULT_WAIT_MS,
        threshold_ms: ThresholdMs = None,
        poll_interval_ms: Annotated[
            int, Field(description="How often to sample the pane, in ms (0: the default).")
        ] = DEFAULT_POLL_MS,
    ) -> CallToolResult:
        """Block until the workspace is idle or timeout_ms passes (one call instead of polling)."""
        timeout_ms = or_default("timeout_ms", timeout_ms, DEFAULT_WAIT_MS)
        params = api.SessionWaitIdleParams(
            id=id,
            timeout_ms=timeout_ms,
            threshold_ms=_threshold(threshold_ms),
            poll_interval_ms=or_default("poll_interval_ms", poll_interval_ms, DEFAULT_POLL_MS),
        )
        res = await backend.request(
            calls.SESSION_WAIT_IDLE, params, timeout=_wait_timeout_s(timeout_ms)
        )
        return ok(shapes.wait_idle(res))

    async def workspace_attach_hint(id: Id) -> CallToolResult:
        """The shell command a human runs to attach to the workspace's tmux session."""
        res = await backend.request(calls.SESSION_ATTACH_HINT, api.SessionRef(id=id))
        return ok({"command": res.command})

    async def workspace_resume(id: Id) -> CallToolResult:
        """Relaunch an orphaned, archived or exited workspace in its worktree, continuing the
        agent's own conversation (Claude: --resume). Returns the workspace object."""
        params = api.SessionResumeParams(id=id, max_sessions=config.max_workspaces)
        row = await backend.request(calls.SESSION_RESUME, params, timeout=CREATE_TIMEOUT_S)
        return ok(shapes.workspace(row))

    async def hangar_issue_create(
        title: str,
        description: OptStr = None,
        assign: Annotated[
            OptStr, Field(description="Agent name or id: queues a task for it.")
        ] = None,
        priority: Annotated[int, Field(description="Higher runs first.")] = 0,
        repo_path: Annotated[
            OptStr,
            Field(description="Repository the work happens in (default: the server's)."),
        ] = None,
        blocked_by: Annotated[
            OptList,
            Field(
                description="Issue ids it waits for: its task is queued only once all are "
                "done, so a whole graph of work can be filed at once and run in order."
            ),
        ] = None,
    ) -> CallToolResult:
        """File a Hangar issue, optionally assigned to an agent and waiting for other issues.
        Returns {issue, task}; task is null while it is blocked (issue.blocked says why)."""
        # relative to the server's directory, as the CLI takes it from the shell's; by
        # default the server's own repository, when it is in one
        repo = os.path.abspath(repo_path) if repo_path else enclosing_repository(config.repo_path)
        params = api.IssueCreateParams(
            title=title,
            description=blank(description),
            assign=blank(assign),
            priority=priority,
            repo_path=str(repo) if repo else None,
            blocked_by=list(blocked_by or []),
        )
        return ok(await backend.request(calls.ISSUE_CREATE, params))

    async def hangar_issue_list(
        state: Annotated[OptStr, Field(description="open, in_progress, done or cancelled.")] = None,
        only: Annotated[
            OptStr,
            Field(description='"blocked" (waiting for a blocker not done) or "ready" (not).'),
        ] = None,
    ) -> CallToolResult:
        """List Hangar issues, newest first; each says in "blocked" why it waits, if it does."""
        which = word("only", only, ("all", "blocked", "ready"), "all")
        params = api.IssuesListParams(
            state=_vocab(IssueState, "state", state),
            blocked=None if which == "all" else which == "blocked",
        )
        return ok((await backend.request(calls.ISSUES_LIST, params)).issues)

    async def hangar_task_list(
        status: Annotated[
            OptStr,
            Field(description="queued, dispatched, running, done, failed or cancelled."),
        ] = None,
        issue_id: OptStr = None,
        limit: int = 50,
    ) -> CallToolResult:
        """List Hangar tasks (agent runs), newest first."""
        params = api.TasksListParams(
            status=_vocab(TaskStatus, "status", status), issue_id=blank(issue_id), limit=limit
        )
        return ok((await backend.request(calls.TASKS_LIST, params)).tasks)

    async def hangar_task_show(id: Annotated[str, Field(description="Task id.")]) -> CallToolResult:
        """One Hangar task: {task, usage, message_count}."""
        return ok(await backend.request(calls.TASK_GET, api.TaskIdParams(task_id=id)))

    tools: tuple[ToolFn, ...] = (
        workspace_list,
        workspace_create,
        workspace_archive,
        workspace_delete,
        workspace_send,
        workspace_read,
        workspace_idle,
        workspace_wait_idle,
        workspace_attach_hint,
        workspace_resume,
        hangar_issue_create,
        hangar_issue_list,
        *issue_tools(backend),
        hangar_task_list,
        hangar_task_show,
        *autopilot_tools(config, backend),
    )
    return [_Tool.from_function(fn, structured_output=False) for fn in tools]
