"""``hangar_issue_update`` and ``hangar_issue_comment``: an orchestrating agent edits issues and
writes on their threads (docs/sessions.md#mcp-server, docs/lifecycle.md#editing-an-issue).

As in ``tools``: each tool checks only its own inputs, calls one daemon method and reshapes the
answer; a daemon refusal (a state the issue cannot move to, an empty or oversized comment, an
issue of another workspace) comes back as a tool error carrying the daemon's message.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import Field

from hangar.core.vocab import PRIORITY_MAX, PRIORITY_MIN, IssueState
from hangar.mcp.backend import Backend
from hangar.mcp.common import OptInt, OptStr, blank, ok
from hangar.mcp.tools_autopilots import ToolFn
from hangar.proto import api, calls
from hangar.proto import comments as cm
from hangar.proto import dependencies as dp

__all__ = ["ISSUE_TOOL_NAMES", "issue_tools"]

ISSUE_TOOL_NAMES = (
    "hangar_issue_update",
    "hangar_issue_comment",
    "hangar_issue_block",
    "hangar_issue_unblock",
)

IssueId = Annotated[str, Field(description="Issue id.")]
BlockerId = Annotated[str, Field(description="The issue it waits for (same workspace).")]
STATES = tuple(IssueState)


def _state(value: str | None) -> IssueState | None:
    asked = (value or "").strip().lower()
    if not asked:
        return None
    if asked not in STATES:
        words = ", ".join(STATES)
        raise ToolError(f"invalid_params: state must be one of {words}, got {value!r}")
    return IssueState(asked)


def issue_tools(backend: Backend) -> tuple[ToolFn, ...]:
    async def hangar_issue_update(
        id: IssueId,
        title: Annotated[OptStr, Field(description="A new title (one line).")] = None,
        description: Annotated[OptStr, Field(description="A new description.")] = None,
        priority: Annotated[
            OptInt, Field(description=f"{PRIORITY_MIN} (lowest) to {PRIORITY_MAX} (highest).")
        ] = None,
        state: Annotated[
            OptStr,
            Field(
                description="open, in_progress, done or cancelled. done or cancelled closes the "
                "issue and cancels its unfinished tasks; a closed issue can only go to open."
            ),
        ] = None,
        assign: Annotated[
            OptStr,
            Field(
                description="Agent name or id: queues a task for it; a pending task of the "
                "agent that had the issue is cancelled."
            ),
        ] = None,
        unassign: Annotated[
            bool,
            Field(
                description="Nobody holds the issue any more (its agent's pending "
                "task is cancelled)."
            ),
        ] = False,
    ) -> CallToolResult:
        """Edit a Hangar issue in one step: title, description, priority, state, assignee.
        Returns the issue as it is now."""
        if priority is not None and not PRIORITY_MIN <= priority <= PRIORITY_MAX:
            raise ToolError(
                f"invalid_params: priority must be {PRIORITY_MIN}-{PRIORITY_MAX}, got {priority}"
            )
        if blank(assign) and unassign:
            raise ToolError("invalid_params: assign and unassign exclude each other")
        params = api.IssueUpdateParams(
            issue_id=id,
            title=blank(title),
            description=blank(description),
            priority=priority,
            state=_state(state),
            assign=blank(assign),
            unassign=unassign,
        )
        return ok(await backend.request(calls.ISSUE_UPDATE, params))

    async def hangar_issue_comment(
        id: IssueId,
        body: Annotated[
            str, Field(description=f"Markdown, at most {cm.COMMENT_MAX_BYTES // 1024} KiB.")
        ],
        author: Annotated[
            OptStr,
            Field(description="Write as this Hangar agent (name or id); default: the user."),
        ] = None,
    ) -> CallToolResult:
        """Add a comment to a Hangar issue's thread. Returns {id, issue_id, author, body,
        created_at}."""
        params = cm.CommentAddParams(issue_id=id, body=body, author=blank(author))
        return ok(await backend.request(calls.COMMENT_ADD, params))

    async def hangar_issue_block(id: IssueId, by: BlockerId) -> CallToolResult:
        """Make issue `id` wait for issue `by`: its task is queued only once `by` (and every
        other blocker) is done. A loop or a self-block is refused, naming it. Returns {issue,
        changed}; issue.blocked says why it waits."""
        params = dp.IssueBlockParams(issue_id=id, by=by)
        return ok(await backend.request(calls.ISSUE_BLOCK, params))

    async def hangar_issue_unblock(id: IssueId, by: BlockerId) -> CallToolResult:
        """Issue `id` no longer waits for `by` (how to go on past a blocker that failed or was
        cancelled). When that was its last unfinished blocker and it is assigned, its task is
        queued now. Returns {issue, changed, task}."""
        params = dp.IssueBlockParams(issue_id=id, by=by)
        return ok(await backend.request(calls.ISSUE_UNBLOCK, params))

    return (hangar_issue_update, hangar_issue_comment, hangar_issue_block, hangar_issue_unblock)
