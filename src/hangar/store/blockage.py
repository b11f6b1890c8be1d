"""Issue dependencies as the rest of the store sees them: why each issue of a page is
blocked (two statements per page, never one per issue), the "blocked" filter of a list,
adding and removing an edge with what that implies, and the dependents a blocker strands
when it ends without done (docs/lifecycle.md#dependencies; the rule is
``core/dependencies.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import msgspec
from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.core.dependencies import Blocker, BlockerStanding, blockage
from hangar.core.fsm import ACTIVE, PENDING
from hangar.core.issue_fsm import CLOSED
from hangar.core.vocab import IssueState
from hangar.proto.rows import DependencyRow, IssueRow, TaskRow
from hangar.store import dependencies
from hangar.store.context import StoreContext
from hangar.store.convert import issue_row
from hangar.store.errors import Conflict, NotFound
from hangar.store.schema import agent_task_queue, issue, issue_dependency

__all__ = [
    "DependencyStore",
    "Stranding",
    "block",
    "blocked_clause",
    "link_rows",
    "open_dependents",
    "reasons",
    "strandings",
    "unblock",
    "with_blocked",
    "with_blocked_any",
]

_D, _I, _T = issue_dependency, issue, agent_task_queue


@dataclass(frozen=True, slots=True)
class Stranding:
    """A dependent that ``blocker_id`` left blocked by ending without done: ``issue`` is its
    row as it is now (``blocked`` names the blocker), ``standing`` failed|cancelled|deleted."""

    issue: IssueRow
    blocker_id: str
    standing: BlockerStanding


def blocked_clause() -> ColumnElement[bool]:
    """True for an issue row with a blocker that is not done (or is gone): the same verdict
    as ``core.dependencies.blockage``, whose only release is a blocker in state done."""
    blocker = _I.alias("blocker")
    not_done = exists().where(
        blocker.c.id == _D.c.blocker_id,
        blocker.c.workspace_id == _D.c.workspace_id,
        blocker.c.state == IssueState.DONE.value,
    )
    return exists().where(
        _D.c.issue_id == _I.c.id, _D.c.workspace_id == _I.c.workspace_id, ~not_done
    )


async def reasons(
    conn: AsyncConnection, workspace_id: str, issue_ids: Iterable[str]
) -> dict[str, str]:
    """issue id → why it is blocked, for the blocked ones among ``issue_ids``: one read of
    their edges with the blockers' states, one of the unfinished blockers' newest tasks."""
    ids = sorted(set(issue_ids))
    if not ids:
        return {}
    blocker = _I.alias("blocker")
    stmt = (
        select(_D.c.issue_id, _D.c.blocker_id, blocker.c.state)
        .select_from(
            _D.outerjoin(
                blocker,
                and_(blocker.c.id == _D.c.blocker_id, blocker.c.workspace_id == _D.c.workspace_id),
            )
        )
        .where(_D.c.workspace_id == workspace_id, _D.c.issue_id.in_(ids))
        .order_by(_D.c.issue_id, _D.c.created_at, _D.c.blocker_id)
    )
    edges = list(await conn.execute(stmt))
    open_blockers = {e.blocker_id for e in edges if e.state is not None and e.state != "done"}
    last = await dependencies._last_tasks(conn, open_blockers)
    per_issue: dict[str, list[Blocker]] = {}
    for e in edges:
        state = None if e.state is None else IssueState(e.state)
        per_issue.setdefault(e.issue_id, []).append(
            Blocker(e.blocker_id, state, last.get(e.blocker_id))
        )
    out: dict[str, str] = {}
    for issue_id, blockers in per_issue.items():
        reason = blockage(blockers).reason
        if reason is not None:
            out[issue_id] = reason
    return out


async def with_blocked(
    conn: AsyncConnection, workspace_id: str, rows: Sequence[IssueRow]
) -> list[IssueRow]:
    """``rows`` with ``blocked`` filled in (a page, in two statements)."""
    found = await reasons(conn, workspace_id, (r.id for r in rows))
    return [
        r if found.get(r.id) == r.blocked else msgspec.structs.replace(r, blocked=found.get(r.id))
        for r in rows
    ]


async def with_blocked_any(conn: AsyncConnection, rows: Sequence[IssueRow]) -> list[IssueRow]:
    """``with_blocked`` for rows of any workspaces (what one finalize moved)."""
    by_ws: dict[str, list[IssueRow]] = {}
    for r in rows:
        by_ws.setdefault(r.workspace_id, []).append(r)
    filled = {}
    for ws, some in by_ws.items():
        filled.update({r.id: r for r in await with_blocked(conn, ws, some)})
    return [filled[r.id] for r in rows]


async def _row(conn: AsyncConnection, workspace_id: str, issue_id: str) -> IssueRow:
    stmt = select(_I).where(_I.c.id == issue_id, _I.c.workspace_id == workspace_id)
    found = (await conn.execute(stmt)).mappings().first()
    if found is None:
        raise NotFound("issue", issue_id)
    return (await with_blocked(conn, workspace_id, [issue_row(found)]))[0]


async def _pending_task(conn: AsyncConnection, issue_id: str) -> tuple[str, str] | None:
    stmt = select(_T.c.id, _T.c.status).where(
        _T.c.issue_id == issue_id, _T.c.status.in_([s.value for s in PENDING | ACTIVE])
    )
    row = (await conn.execute(stmt.order_by(_T.c.id).limit(1))).first()
    return None if row is None else (row.id, row.status)


async def block(
    conn: AsyncConnection, ctx: StoreContext, workspace_id: str, issue_id: str, blocker_id: str
) -> tuple[IssueRow, bool]:
    """``issue_id`` waits for ``blocker_id`` from now on; (its row, whether the edge is new).

    Refused (nothing written) for a self-block, a loop (named), a missing or foreign id, and
    for an issue that a blocker not done would block while a task of it is queued or under
    way: that task would not wait, so it is cancelled first (or blocked after it ends)."""
    added = await dependencies.add(conn, ctx, workspace_id, issue_id, blocker_id)
    row = await _row(conn, workspace_id, issue_id)
    if added and row.blocked is not None:
        pending = await _pending_task(conn, issue_id)
        if pending is not None:
            raise Conflict(
                f"issue {issue_id} has task {pending[0]} {pending[1]}, which would not wait for "
                f"{blocker_id}: cancel it first (hangar task cancel {pending[0]}), or block "
                "the issue once it has ended"
            )
    return row, added


async def unblock(
    conn: AsyncConnection, ctx: StoreContext, workspace_id: str, issue_id: str, blocker_id: str
) -> tuple[IssueRow, bool, TaskRow | None]:
    """``issue_id`` no longer waits for ``blocker_id``; (its row, whether an edge went, the
    task queued because that was its last unfinished blocker, in this transaction).

    A blocker that is gone may still be named (that is how a deleted blocker's dependent is
    re-armed); one that neither exists here nor is a blocker of it is missing."""
    removed = await dependencies.remove(conn, workspace_id, issue_id, blocker_id)
    if not removed:
        stmt = select(_I.c.id).where(_I.c.id == blocker_id, _I.c.workspace_id == workspace_id)
        if await conn.scalar(stmt) is None:
            raise NotFound("issue", blocker_id)
    task = await dependencies.wake_issue(conn, ctx, workspace_id, issue_id) if removed else None
    return await _row(conn, workspace_id, issue_id), removed, task


async def strandings(
    conn: AsyncConnection, ended_ids: Iterable[str], *, closing: bool = False
) -> list[Stranding]:
    """The open dependents of these issues that one of them now leaves stranded (its newest
    task failed or was cancelled and nothing follows, it was closed cancelled, or it is
    gone), each with the row as it is in this transaction.

    A task ending (``closing`` false) strands nothing for a blocker that is closed already:
    closing it announced that, and its runs stopping afterwards are no news."""
    ids = sorted(set(ended_ids))
    if not ids:
        return []
    stmt = (
        select(_D.c.workspace_id, _D.c.issue_id, _D.c.blocker_id)
        .where(_D.c.blocker_id.in_(ids))
        .order_by(_D.c.issue_id, _D.c.blocker_id)
    )
    edges = list(await conn.execute(stmt))
    out: list[Stranding] = []
    for e in edges:
        links = await dependencies.blockers_of(conn, e.workspace_id, e.issue_id)
        link = next((x for x in links if x.issue_id == e.blocker_id), None)
        if link is None or not link.standing.stranded:
            continue
        if not closing and link.state in CLOSED:
            continue
        row = await _row(conn, e.workspace_id, e.issue_id)
        if IssueState(row.state) in CLOSED:
            continue
        out.append(Stranding(row, e.blocker_id, link.standing))
    return out


async def open_dependents(
    conn: AsyncConnection, workspace_id: str, issue_id: str
) -> list[IssueRow]:
    """The dependents of ``issue_id`` that are not closed, as they are now (``blocked`` set)."""
    waiting = select(_D.c.issue_id).where(
        _D.c.workspace_id == workspace_id, _D.c.blocker_id == issue_id
    )
    stmt = (
        select(_I)
        .where(
            _I.c.workspace_id == workspace_id,
            _I.c.id.in_(waiting),
            _I.c.state.not_in([s.value for s in CLOSED]),
        )
        .order_by(_I.c.id)
    )
    rows = [issue_row(m) for m in (await conn.execute(stmt)).mappings()]
    return await with_blocked(conn, workspace_id, rows)


def link_rows(links: Sequence[dependencies.Link]) -> list[DependencyRow]:
    return [
        DependencyRow(
            issue_id=link.issue_id,
            title=link.title,
            state=None if link.state is None else link.state.value,
            standing=link.standing.value,
            last_task=None if link.last_task is None else link.last_task.value,
        )
        for link in links
    ]


class DependencyStore(dependencies.DependencyStore):
    """``Store.dependencies``: the edges, plus blocking and unblocking with what they imply,
    each one transaction."""

    async def block(
        self, workspace_id: str, issue_id: str, blocker_id: str
    ) -> tuple[IssueRow, bool]:
        async with self._write() as conn:
            return await block(conn, self._ctx, workspace_id, issue_id, blocker_id)

    async def unblock(
        self, workspace_id: str, issue_id: str, blocker_id: str
    ) -> tuple[IssueRow, bool, TaskRow | None]:
        async with self._write() as conn:
            return await unblock(conn, self._ctx, workspace_id, issue_id, blocker_id)

    async def links(
        self, workspace_id: str, issue_id: str
    ) -> tuple[list[DependencyRow], list[DependencyRow]]:
        """(blockers, dependents) of the issue, oldest edge first, each with its state."""
        async with self._read() as conn:
            blockers = await dependencies.blockers_of(conn, workspace_id, issue_id)
            dependents = await dependencies.dependents_of(conn, workspace_id, issue_id)
        return link_rows(blockers), link_rows(dependents)
