"""Issue dependencies: which issues wait for which, inside one workspace.

An edge ``(issue_id, blocker_id)`` says the issue waits for the blocker; the rule for when
that blocks it is ``core/dependencies.py``. Every statement filters on the caller's
workspace, so another workspace's issue answers exactly like a missing one. Edges are added
with the workspace's row locked (``FOR NO KEY UPDATE`` on PostgreSQL, which still lets
issues be inserted; SQLite writers take turns), so two adds racing cannot close a loop
between them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from sqlalchemy import RowMapping, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.core.dependencies import (
    Blockage,
    Blocker,
    BlockerStanding,
    SelfBlock,
    blockage,
    check_edge,
    standing,
)
from hangar.core.fsm import ACTIVE, PENDING, TaskStatus
from hangar.core.issue_fsm import CLOSED
from hangar.core.vocab import IssueState
from hangar.proto.rows import TaskRow
from hangar.store import agents
from hangar.store.context import StoreContext
from hangar.store.convert import task_row
from hangar.store.dml import upsert
from hangar.store.errors import NotFound
from hangar.store.schema import agent_task_queue, issue, issue_dependency, workspace

__all__ = [
    "DependencyStore",
    "Link",
    "add",
    "blockage_of",
    "blockers_of",
    "dependents_of",
    "remove",
    "wake_dependents",
    "wake_issue",
]

_D, _I, _T, _W = issue_dependency, issue, agent_task_queue, workspace

Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


@dataclass(frozen=True, slots=True)
class Link:
    """One issue at the other end of an edge, with its state.

    ``title`` and ``state`` are ``None`` when that issue is gone (a deleted blocker);
    ``last_task`` is the status of its newest task, ``standing`` what it means for the
    dependent (``core.dependencies.standing``).
    """

    issue_id: str
    title: str | None
    state: IssueState | None
    last_task: TaskStatus | None
    standing: BlockerStanding
    created_at: int

    @property
    def blocker(self) -> Blocker:
        return Blocker(self.issue_id, self.state, self.last_task)


async def _require_issue(conn: AsyncConnection, workspace_id: str, issue_id: str) -> None:
    found = await conn.scalar(
        select(_I.c.id).where(_I.c.id == issue_id, _I.c.workspace_id == workspace_id)
    )
    if found is None:
        raise NotFound("issue", issue_id)


async def _lock_workspace(conn: AsyncConnection, workspace_id: str) -> None:
    stmt = select(_W.c.id).where(_W.c.id == workspace_id).with_for_update(key_share=True)
    if await conn.scalar(stmt) is None:
        raise NotFound("workspace", workspace_id)


async def _edges(conn: AsyncConnection, workspace_id: str) -> list[tuple[str, str]]:
    stmt = select(_D.c.issue_id, _D.c.blocker_id).where(_D.c.workspace_id == workspace_id)
    return [(row.issue_id, row.blocker_id) for row in await conn.execute(stmt)]


async def add(
    conn: AsyncConnection, ctx: StoreContext, workspace_id: str, issue_id: str, blocker_id: str
) -> bool:
    """Make ``issue_id`` wait for ``blocker_id``; false when it already did.

    Raises ``SelfBlock`` or ``DependencyCycle`` (naming the loop; both ``ValueError``) and
    ``NotFound`` for either issue missing from this workspace. Writes nothing when refused.
    """
    if issue_id == blocker_id:
        raise SelfBlock(issue_id)
    await _lock_workspace(conn, workspace_id)
    await _require_issue(conn, workspace_id, issue_id)
    await _require_issue(conn, workspace_id, blocker_id)
    edges = await _edges(conn, workspace_id)
    if (issue_id, blocker_id) in edges:
        return False
    check_edge(issue_id, blocker_id, edges)
    values = {
        "issue_id": issue_id,
        "blocker_id": blocker_id,
        "workspace_id": workspace_id,
        "created_at": ctx.now(),
    }
    await conn.execute(_D.insert().values(values))
    return True


async def remove(conn: AsyncConnection, workspace_id: str, issue_id: str, blocker_id: str) -> bool:
    """Drop the edge; false when there was none. The dependent must be in this workspace;
    the blocker may be gone already (unblocking from a deleted blocker is how to re-arm)."""
    await _require_issue(conn, workspace_id, issue_id)
    result = await conn.execute(
        delete(_D).where(
            _D.c.workspace_id == workspace_id,
            _D.c.issue_id == issue_id,
            _D.c.blocker_id == blocker_id,
        )
    )
    return bool(result.rowcount)


async def _last_tasks(conn: AsyncConnection, issue_ids: Iterable[str]) -> dict[str, TaskStatus]:
    """Each issue's newest task's status (by creation, then id)."""
    ids = sorted(set(issue_ids))
    if not ids:
        return {}
    stmt = (
        select(_T.c.issue_id, _T.c.status)
        .where(_T.c.issue_id.in_(ids))
        .order_by(_T.c.issue_id, _T.c.created_at.desc(), _T.c.id.desc())
    )
    newest: dict[str, TaskStatus] = {}
    for row in await conn.execute(stmt):
        newest.setdefault(row.issue_id, TaskStatus(row.status))
    return newest


async def _links(
    conn: AsyncConnection, workspace_id: str, pairs: Sequence[RowMapping], other: str
) -> list[Link]:
    """``pairs``: edge rows; ``other``: the column naming the issue to describe."""
    ids = [m[other] for m in pairs]
    rows: dict[str, RowMapping] = {}
    if ids:
        stmt = select(_I.c.id, _I.c.title, _I.c.state).where(
            _I.c.id.in_(sorted(set(ids))), _I.c.workspace_id == workspace_id
        )
        rows = {m["id"]: m for m in (await conn.execute(stmt)).mappings()}
    last = await _last_tasks(conn, rows)
    links = []
    for m in pairs:
        found = rows.get(m[other])
        state = IssueState(found["state"]) if found is not None else None
        task = last.get(m[other])
        link_standing = standing(Blocker(m[other], state, task))
        links.append(
            Link(
                issue_id=m[other],
                title=found["title"] if found is not None else None,
                state=state,
                last_task=task,
                standing=link_standing,
                created_at=m["created_at"],
            )
        )
    return links


async def blockers_of(conn: AsyncConnection, workspace_id: str, issue_id: str) -> list[Link]:
    """What ``issue_id`` waits for, oldest edge first, each with its state."""
    await _require_issue(conn, workspace_id, issue_id)
    stmt = (
        select(_D.c.blocker_id, _D.c.created_at)
        .where(_D.c.workspace_id == workspace_id, _D.c.issue_id == issue_id)
        .order_by(_D.c.created_at, _D.c.blocker_id)
    )
    pairs = list((await conn.execute(stmt)).mappings())
    return await _links(conn, workspace_id, pairs, "blocker_id")


async def dependents_of(conn: AsyncConnection, workspace_id: str, blocker_id: str) -> list[Link]:
    """What waits for ``blocker_id``, oldest edge first, each with its state. The blocker
    itself need not exist any more (a deleted blocker still has its dependents)."""
    stmt = (
        select(_D.c.issue_id, _D.c.created_at)
        .where(_D.c.workspace_id == workspace_id, _D.c.blocker_id == blocker_id)
        .order_by(_D.c.created_at, _D.c.issue_id)
    )
    pairs = list((await conn.execute(stmt)).mappings())
    if not pairs:
        await _require_issue(conn, workspace_id, blocker_id)
    return await _links(conn, workspace_id, pairs, "issue_id")


async def blockage_of(conn: AsyncConnection, workspace_id: str, issue_id: str) -> Blockage:
    """Whether ``issue_id`` is blocked now, and why (``core.dependencies.blockage``)."""
    return blockage(link.blocker for link in await blockers_of(conn, workspace_id, issue_id))


async def wake_dependents(
    conn: AsyncConnection, ctx: StoreContext, done_issue_ids: Sequence[str]
) -> list[TaskRow]:
    """Queue the task of each issue whose last blocker just ended done, in the caller's (the
    finalize's) transaction, so no wake-up is lost or doubled.

    A dependent is woken when it is not closed, is assigned to an agent, every blocker is
    done, and it has no task queued, dispatched or running. The dependents are locked (in id
    order) before their blockers are read: of two blockers finishing at once on PostgreSQL,
    the second to take the lock sees the first one's commit, so one of them wakes it.
    The insert skips a pending (issue, agent) task instead of failing the finalize.
    """
    ids = sorted(set(done_issue_ids))
    if not ids:
        return []
    dependents = select(_D.c.issue_id, _D.c.workspace_id).where(_D.c.blocker_id.in_(ids)).distinct()
    pairs = sorted({(r.workspace_id, r.issue_id) for r in await conn.execute(dependents)})
    woken: list[TaskRow] = []
    for workspace_id, issue_id in sorted(pairs, key=lambda p: p[1]):
        task = await wake_issue(conn, ctx, workspace_id, issue_id)
        if task is not None:
            woken.append(task)
    return woken


async def wake_issue(
    conn: AsyncConnection, ctx: StoreContext, workspace_id: str, issue_id: str
) -> TaskRow | None:
    """Queue the issue's task if it is ready now: not closed, assigned to an agent, no
    blocker left unfinished, and no task of it queued, dispatched or running (so a wake is
    never doubled). Locks the issue first (see ``wake_dependents``)."""
    stmt = select(_I).where(_I.c.id == issue_id, _I.c.workspace_id == workspace_id)
    found = (await conn.execute(stmt.with_for_update())).mappings().first()
    if found is None or IssueState(found["state"]) in CLOSED:
        return None
    if found["assignee_type"] != "agent" or found["assignee_id"] is None:
        return None
    if (await blockage_of(conn, workspace_id, issue_id)).blocked:
        return None
    busy = await conn.scalar(
        select(_T.c.id).where(
            _T.c.issue_id == issue_id,
            _T.c.status.in_([s.value for s in PENDING | ACTIVE]),
        )
    )
    if busy is not None:
        return None
    agent = await agents.get_mapping(conn, workspace_id, found["assignee_id"])
    if agent is None:
        return None
    now = ctx.now()
    values = {
        "id": ctx.new_id(now),
        "workspace_id": workspace_id,
        "runtime_id": agent["runtime_id"],
        "agent_id": agent["id"],
        "issue_id": issue_id,
        "status": TaskStatus.QUEUED.value,
        "priority": found["priority"],
        "attempt": 1,
        "created_at": now,
    }
    insert = upsert(conn, _T).values(values).on_conflict_do_nothing()
    row = (await conn.execute(insert.returning(*_T.c))).mappings().first()
    return None if row is None else task_row(row)


class DependencyStore:
    """``Store.dependencies``: each call one read or one write transaction."""

    def __init__(self, read: Connect, write: Connect, ctx: StoreContext) -> None:
        self._read = read
        self._write = write
        self._ctx = ctx

    async def add(self, workspace_id: str, issue_id: str, blocker_id: str) -> bool:
        async with self._write() as conn:
            return await add(conn, self._ctx, workspace_id, issue_id, blocker_id)

    async def remove(self, workspace_id: str, issue_id: str, blocker_id: str) -> bool:
        async with self._write() as conn:
            return await remove(conn, workspace_id, issue_id, blocker_id)

    async def blockers_of(self, workspace_id: str, issue_id: str) -> list[Link]:
        async with self._read() as conn:
            return await blockers_of(conn, workspace_id, issue_id)

    async def dependents_of(self, workspace_id: str, blocker_id: str) -> list[Link]:
        async with self._read() as conn:
            return await dependents_of(conn, workspace_id, blocker_id)

    async def blockage(self, workspace_id: str, issue_id: str) -> Blockage:
        async with self._read() as conn:
            return await blockage_of(conn, workspace_id, issue_id)
