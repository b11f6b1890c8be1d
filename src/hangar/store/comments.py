"""An issue's thread: comments by a person or an agent, paged newest last
(docs/lifecycle.md#comments).

The ``comment`` table has no workspace column: every statement reaches it through its issue,
scoped to the caller's workspace, so another workspace's issue or comment is missing here.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import RowMapping, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.core.comments import check_body, fit_body
from hangar.proto.comments import CommentRow
from hangar.store import agents
from hangar.store.context import StoreContext
from hangar.store.convert import format_actor, parse_actor
from hangar.store.errors import InvalidValue, NotFound
from hangar.store.schema import comment, issue

__all__ = ["CommentStore", "add", "comment_row", "page", "post_result"]

_C, _I = comment, issue

Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


def comment_row(m: RowMapping) -> CommentRow:
    author = format_actor(m["author_type"], m["author_id"])
    assert author is not None  # NOT NULL columns
    return CommentRow(
        id=m["id"],
        issue_id=m["issue_id"],
        author=author,
        body=m["body"],
        created_at=m["created_at"],
    )


async def _require_issue(conn: AsyncConnection, workspace_id: str, issue_id: str) -> None:
    found = await conn.scalar(
        select(_I.c.id).where(_I.c.id == issue_id, _I.c.workspace_id == workspace_id)
    )
    if found is None:
        raise NotFound("issue", issue_id)


async def _author(conn: AsyncConnection, workspace_id: str, ref: str) -> tuple[str, str]:
    """``member:<id>``, or an agent of this workspace: ``agent:<id or name>`` or bare."""
    if ":" not in ref:
        ref = f"agent:{ref}"
    kind, ident = parse_actor(ref)
    if kind == "agent":
        agent = await agents.get_mapping(conn, workspace_id, ident)
        if agent is None:
            raise NotFound("agent", ident)
        ident = agent["id"]
    return kind, ident


async def _insert(
    conn: AsyncConnection, ctx: StoreContext, issue_id: str, kind: str, ident: str, body: str
) -> CommentRow:
    now = ctx.now()
    values = {
        "id": ctx.new_id(now),
        "issue_id": issue_id,
        "author_type": kind,
        "author_id": ident,
        "body": body,
        "created_at": now,
    }
    result = await conn.execute(_C.insert().values(values).returning(*_C.c))
    return comment_row(result.mappings().one())


async def add(
    conn: AsyncConnection,
    ctx: StoreContext,
    workspace_id: str,
    issue_id: str,
    author: str,
    body: str,
) -> CommentRow:
    try:
        body = check_body(body)  # the size first: a 10 MB body is refused before any read
    except ValueError as exc:
        raise InvalidValue(str(exc)) from None
    await _require_issue(conn, workspace_id, issue_id)
    kind, ident = await _author(conn, workspace_id, author)
    return await _insert(conn, ctx, issue_id, kind, ident, body)


async def post_result(
    conn: AsyncConnection, ctx: StoreContext, task: RowMapping, content: Any
) -> CommentRow | None:
    """A done task's result text as its agent's comment on its issue, in the caller's (the
    finalize's) transaction: a retried finalize writes nothing, so nothing is posted twice."""
    if task["issue_id"] is None or not isinstance(content, str):
        return None
    body = fit_body(content)
    if body is None:
        return None
    return await _insert(conn, ctx, task["issue_id"], "agent", task["agent_id"], body)


async def page(
    conn: AsyncConnection,
    workspace_id: str,
    issue_id: str,
    *,
    limit: int,
    before: str | None = None,
) -> tuple[list[CommentRow], str | None]:
    """The newest ``limit`` comments before ``before``, oldest first, and the cursor of the
    older ones (None when there are none)."""
    if limit < 1:
        raise InvalidValue(f"limit must be at least 1, got {limit}")
    await _require_issue(conn, workspace_id, issue_id)
    stmt = select(_C).where(_C.c.issue_id == issue_id)
    if before is not None:
        anchor = await conn.scalar(
            select(_C.c.created_at).where(_C.c.id == before, _C.c.issue_id == issue_id)
        )
        if anchor is None:
            raise NotFound("comment", before)
        stmt = stmt.where(
            or_(_C.c.created_at < anchor, and_(_C.c.created_at == anchor, _C.c.id < before))
        )
    stmt = stmt.order_by(_C.c.created_at.desc(), _C.c.id.desc()).limit(limit + 1)
    rows = [comment_row(m) for m in (await conn.execute(stmt)).mappings()]
    more = len(rows) > limit
    shown = rows[:limit]
    shown.reverse()
    return shown, shown[0].id if more and shown else None


class CommentStore:
    """``Store.comments``: each call one read or one write transaction."""

    def __init__(self, read: Connect, write: Connect, ctx: StoreContext) -> None:
        self._read = read
        self._write = write
        self._ctx = ctx

    async def add(self, workspace_id: str, issue_id: str, author: str, body: str) -> CommentRow:
        """``author``: ``member:<id>``, or an agent of the workspace (``agent:<id or name>``)."""
        async with self._write() as conn:
            return await add(conn, self._ctx, workspace_id, issue_id, author, body)

    async def page(
        self, workspace_id: str, issue_id: str, *, limit: int, before: str | None = None
    ) -> tuple[list[CommentRow], str | None]:
        async with self._read() as conn:
            return await page(conn, workspace_id, issue_id, limit=limit, before=before)
