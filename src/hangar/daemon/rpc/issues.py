"""Issues: list, get, create (optionally assigned, which queues a task), edit."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hangar.adapters import git
from hangar.core import names
from hangar.daemon.lifecycle import Lifecycle
from hangar.daemon.rpc.common import Routes, invalid, not_found, resolve_workspace, routes
from hangar.daemon.rpc.pages import clip_issue, fit
from hangar.proto import api, calls
from hangar.proto import dependencies as dp
from hangar.proto.rows import IssueRow
from hangar.store import Store

if TYPE_CHECKING:
    from hangar.daemon.rpc.server import Connection

__all__ = [
    "LIST_PAGE",
    "MAX_DESCRIPTION_BYTES",
    "IssueRoutes",
    "check_description",
    "checked_repo",
]

#: issues per list page when the caller names no limit
LIST_PAGE = 1000

#: prompts travel in argv for some CLIs, and Linux caps one argv string at 128 KiB
MAX_DESCRIPTION_BYTES = 100 * 1024


async def checked_repo(repo_path: str | None) -> str | None:
    """A repository path → its git toplevel; not a repository is invalid params."""
    if not repo_path:
        return None
    try:
        return str(await git.toplevel(Path(repo_path).expanduser().resolve()))
    except git.GitError as exc:
        raise invalid(str(exc)) from None


class IssueRoutes:
    def __init__(self, store: Store, lifecycle: Lifecycle) -> None:
        self.store = store
        self.lifecycle = lifecycle
        #: a workspace's owner never changes: looked up once
        self._owner_refs: dict[str, str] = {}

    def routes(self) -> Routes:
        return routes(
            (calls.ISSUES_LIST, self.list),
            (calls.ISSUE_GET, self.get),
            (calls.ISSUE_CREATE, self.create),
            (calls.ISSUE_UPDATE, self.update),
            (calls.ISSUE_BLOCK, self.block),
            (calls.ISSUE_UNBLOCK, self.unblock),
        )

    async def list(self, conn: Connection, p: api.IssuesListParams) -> api.IssuesListResult:
        ws = await resolve_workspace(self.store, p.workspace_id)
        limit = p.limit or LIST_PAGE
        state = None if p.state is None else p.state.value
        kind = {"members": "member", "agents": "agent"}.get(p.assigned or "")
        mine = await self._owner(ws.id) if p.assigned == "mine" else None
        rows = await self.store.issue_list(
            ws.id,
            state,
            limit=limit + 1,
            before=p.before,
            assignee=mine,
            assignee_kind=kind,
            blocked=p.blocked,
        )
        page, next_before = fit(rows, limit=limit, clip=clip_issue)
        return api.IssuesListResult(issues=page, next_before=next_before)

    async def get(self, conn: Connection, p: api.IssueGetParams) -> api.IssueDetail:
        ws = await resolve_workspace(self.store, p.workspace_id)
        issue = await self.store.issue_get(ws.id, p.issue_id)
        if issue is None:
            raise not_found("issue", p.issue_id)
        tasks = await self.store.task_list(ws.id, issue_id=issue.id)
        blockers, dependents = await self.store.dependencies.links(ws.id, issue.id)
        return api.IssueDetail(issue=issue, tasks=tasks, blockers=blockers, dependents=dependents)

    async def create(self, conn: Connection, p: api.IssueCreateParams) -> api.IssueCreateResult:
        ws = await resolve_workspace(self.store, p.workspace_id)
        names.validate_title(p.title)  # priority and state are checked by the params' types
        if p.description is not None:
            check_description(p.description)
        repo = await checked_repo(p.repo_path)
        owner = await self._owner(ws.id)
        issue, task = await self.lifecycle.create_issue(
            ws.id,
            title=p.title.strip(),
            description=p.description,
            priority=p.priority,
            repo_path=repo,
            creator=owner,
            assign_agent_id=p.assign or None,  # id or name; a missing agent is NotFound
            blocked_by=_ids(p.blocked_by),  # a bad one (missing, a loop) writes nothing
        )
        return api.IssueCreateResult(issue=issue, task=task)

    async def _owner(self, workspace_id: str) -> str:
        owner = self._owner_refs.get(workspace_id)
        if owner is None:
            owner = self._owner_refs[workspace_id] = await self.store.workspace_owner_ref(
                workspace_id
            )
        return owner

    async def update(self, conn: Connection, p: api.IssueUpdateParams) -> IssueRow:
        """An edit in one transaction: what it implies (a task queued, tasks cancelled) is
        the lifecycle's (docs/lifecycle.md#editing-an-issue)."""
        ws = await resolve_workspace(self.store, p.workspace_id)
        changes: dict[str, Any] = {}
        if p.title is not None:
            changes["title"] = names.validate_title(p.title)
        if p.description is not None:
            check_description(p.description)
            changes["description"] = p.description
        if p.priority is not None:
            changes["priority"] = p.priority
        if p.state is not None:
            changes["state"] = p.state.value
        if p.assign is not None and p.unassign:
            raise invalid("assign and unassign exclude each other")
        if p.assign is not None:
            who = p.assign.strip()
            if not who:
                raise invalid("assign needs an agent's name or id, or member:<id>")
            changes["assignee"] = who
        elif p.unassign:
            changes["assignee"] = None
        if not changes:
            raise invalid(
                "nothing to change: give a title, description, priority, state, assign or unassign"
            )
        edit = await self.lifecycle.edit_issue(ws.id, p.issue_id, **changes)
        return edit.issue

    async def block(self, conn: Connection, p: dp.IssueBlockParams) -> dp.IssueBlockResult:
        """``issue_id`` waits for ``by``; a loop, a self-block or a missing (or foreign) id
        is refused and writes nothing."""
        ws = await resolve_workspace(self.store, p.workspace_id)
        issue, changed = await self.lifecycle.block(ws.id, p.issue_id, _ids([p.by])[0])
        return dp.IssueBlockResult(issue=issue, changed=changed)

    async def unblock(self, conn: Connection, p: dp.IssueBlockParams) -> dp.IssueBlockResult:
        """The edge removed; its last unfinished blocker gone, an assigned issue's task is
        queued in the same write (``task``)."""
        ws = await resolve_workspace(self.store, p.workspace_id)
        issue, changed, task = await self.lifecycle.unblock(ws.id, p.issue_id, _ids([p.by])[0])
        return dp.IssueBlockResult(issue=issue, changed=changed, task=task)


def _ids(raw: list[str]) -> list[str]:
    ids = [i.strip() for i in raw]
    if any(not i for i in ids):
        raise invalid("blocked_by holds an empty issue id")
    return ids


def check_description(description: str) -> None:
    """What create and update both refuse in a description."""
    if len(description.encode()) > MAX_DESCRIPTION_BYTES:
        raise invalid(
            f"description is over {MAX_DESCRIPTION_BYTES // 1024} KiB; put long "
            "material in a file in the repository and point to it"
        )
    if "\x00" in description:
        raise invalid("description contains a NUL byte")
