"""``beads_mapping``: which bd issue mirrors which Hangar issue (docs/beads.md#the-mapping).

One row per pair, unique on each side; ``last_synced`` is the bd ``updated_at`` (ISO-8601
UTC, to the second) at which the two sides were last brought together. Rows with
``source = 'swarm'`` belong to another tool and are never listed here for syncing.

The mapping has no workspace column: a pair reaches its issue by id, and the beads sync is
the daemon's own, never a client's by-id lookup. ``BeadsStore`` is the facade's
``store.beads``; each call is one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from sqlalchemy import RowMapping, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.proto.rows import IssueRow
from hangar.store.convert import issue_row
from hangar.store.errors import Conflict
from hangar.store.schema import beads_mapping, issue

__all__ = [
    "BeadsMapping",
    "BeadsStore",
    "by_bd",
    "delete_pair",
    "get",
    "insert_pair",
    "issues",
    "list_synced",
    "touch",
]

Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection]]
_M = beads_mapping


@dataclass(frozen=True)
class BeadsMapping:
    hangar_id: str
    bd_id: str
    last_synced: str
    hangar_kind: str = "issue"
    bd_kind: str = "issue"
    source: str = "hangar"


def _mapping(r: RowMapping) -> BeadsMapping:
    return BeadsMapping(
        hangar_id=r["hangar_id"],
        bd_id=r["bd_id"],
        last_synced=r["last_synced"],
        hangar_kind=r["hangar_kind"],
        bd_kind=r["bd_kind"],
        source=r["source"],
    )


async def get(conn: AsyncConnection, hangar_id: str) -> BeadsMapping | None:
    r = (await conn.execute(select(_M).where(_M.c.hangar_id == hangar_id))).mappings().first()
    return None if r is None else _mapping(r)


async def by_bd(conn: AsyncConnection, bd_id: str) -> BeadsMapping | None:
    r = (await conn.execute(select(_M).where(_M.c.bd_id == bd_id))).mappings().first()
    return None if r is None else _mapping(r)


async def list_synced(conn: AsyncConnection) -> list[BeadsMapping]:
    """Every pair Hangar syncs (``source = 'hangar'``), in ``hangar_id`` order."""
    stmt = select(_M).where(_M.c.source == "hangar").order_by(_M.c.hangar_id)
    return [_mapping(r) for r in (await conn.execute(stmt)).mappings()]


async def insert_pair(
    conn: AsyncConnection, hangar_id: str, bd_id: str, last_synced: str
) -> BeadsMapping:
    """A new pair; ``Conflict`` when either side is mapped already."""
    row = BeadsMapping(hangar_id=hangar_id, bd_id=bd_id, last_synced=last_synced)
    try:
        await conn.execute(
            insert(_M).values(
                hangar_id=row.hangar_id,
                bd_id=row.bd_id,
                hangar_kind=row.hangar_kind,
                bd_kind=row.bd_kind,
                source=row.source,
                last_synced=row.last_synced,
            )
        )
    except IntegrityError:
        raise Conflict(f"issue {hangar_id} or bd issue {bd_id} is mapped already") from None
    return row


async def touch(conn: AsyncConnection, hangar_id: str, last_synced: str) -> bool:
    done = await conn.execute(
        update(_M).where(_M.c.hangar_id == hangar_id).values(last_synced=last_synced)
    )
    return bool(done.rowcount)


async def delete_pair(conn: AsyncConnection, hangar_id: str) -> bool:
    done = await conn.execute(delete(_M).where(_M.c.hangar_id == hangar_id))
    return bool(done.rowcount)


async def issues(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, IssueRow]:
    """The issues of these ids that exist, in whichever workspace (the daemon's own read)."""
    found: dict[str, IssueRow] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), 500):  # bound the IN list
        chunk = unique[start : start + 500]
        rows = await conn.execute(select(issue).where(issue.c.id.in_(chunk)))
        for r in rows.mappings():
            found[r["id"]] = issue_row(r)
    return found


class BeadsStore:
    """``Store.beads``: each call one read or one write transaction."""

    def __init__(self, read: Connect, write: Connect) -> None:
        self._read = read
        self._write = write

    async def get(self, hangar_id: str) -> BeadsMapping | None:
        async with self._read() as conn:
            return await get(conn, hangar_id)

    async def by_bd(self, bd_id: str) -> BeadsMapping | None:
        async with self._read() as conn:
            return await by_bd(conn, bd_id)

    async def list(self) -> list[BeadsMapping]:
        async with self._read() as conn:
            return await list_synced(conn)

    async def insert(self, hangar_id: str, bd_id: str, last_synced: str) -> BeadsMapping:
        async with self._write() as conn:
            return await insert_pair(conn, hangar_id, bd_id, last_synced)

    async def touch(self, hangar_id: str, last_synced: str) -> bool:
        async with self._write() as conn:
            return await touch(conn, hangar_id, last_synced)

    async def delete(self, hangar_id: str) -> bool:
        async with self._write() as conn:
            return await delete_pair(conn, hangar_id)

    async def issues(self, ids: Sequence[str]) -> dict[str, IssueRow]:
        async with self._read() as conn:
            return await issues(conn, ids)

    async def issue(self, hangar_id: str) -> IssueRow | None:
        return (await self.issues([hangar_id])).get(hangar_id)
