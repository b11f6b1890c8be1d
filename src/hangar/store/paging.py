"""Newest-first pages with a cursor: the id of the last row a caller has seen."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, Table, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.store.errors import NotFound

__all__ = ["older_than"]


async def older_than(
    conn: AsyncConnection,
    stmt: Select[Any],
    table: Table,
    *,
    kind: str,
    before: str,
    workspace_id: str,
) -> Select[Any]:
    """``stmt`` narrowed to the rows after ``before`` in (created_at, id) descending order.
    A cursor that is not a row of the workspace is NotFound, like any other foreign id."""
    anchor = await conn.scalar(
        select(table.c.created_at).where(table.c.id == before, table.c.workspace_id == workspace_id)
    )
    if anchor is None:
        raise NotFound(kind, before)
    return stmt.where(
        or_(table.c.created_at < anchor, and_(table.c.created_at == anchor, table.c.id < before))
    )
