"""An issue's thread: add a comment, read a page of them (docs/lifecycle.md#comments)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hangar.core.comments import check_body
from hangar.daemon.lifecycle import Lifecycle
from hangar.daemon.rpc.common import Routes, invalid, resolve_workspace, routes
from hangar.proto import calls
from hangar.proto import comments as cm
from hangar.store import Store

if TYPE_CHECKING:
    from hangar.daemon.rpc.server import Connection

__all__ = ["CommentRoutes"]


class CommentRoutes:
    def __init__(self, store: Store, lifecycle: Lifecycle) -> None:
        self.store = store
        self.lifecycle = lifecycle
        #: a workspace's owner never changes: looked up once
        self._owner_refs: dict[str, str] = {}

    def routes(self) -> Routes:
        return routes(
            (calls.COMMENT_ADD, self.add),
            (calls.COMMENTS_LIST, self.list),
        )

    async def add(self, conn: Connection, p: cm.CommentAddParams) -> cm.CommentRow:
        try:  # the body first: a 10 MB one is refused before anything is looked up
            body = check_body(p.body)
        except ValueError as exc:
            raise invalid(str(exc)) from None
        ws = await resolve_workspace(self.store, p.workspace_id)
        author = p.author.strip() if p.author else ""
        if not author:
            author = await self._owner(ws.id)
        elif not author.startswith("agent:"):
            author = f"agent:{author}"  # a name or an id; only agents may be named
        return await self.lifecycle.add_comment(ws.id, p.issue_id, author=author, body=body)

    async def list(self, conn: Connection, p: cm.CommentsListParams) -> cm.CommentsListResult:
        ws = await resolve_workspace(self.store, p.workspace_id)
        page, before = await self.store.comments.page(
            ws.id, p.issue_id, limit=p.limit or cm.COMMENTS_PAGE_DEFAULT, before=p.before
        )
        return cm.CommentsListResult(comments=page, next_before=before)

    async def _owner(self, workspace_id: str) -> str:
        owner = self._owner_refs.get(workspace_id)
        if owner is None:
            owner = self._owner_refs[workspace_id] = await self.store.workspace_owner_ref(
                workspace_id
            )
        return owner
