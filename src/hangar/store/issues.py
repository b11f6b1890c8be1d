"""Issues: units of work, optionally assigned to an agent, which enqueues a task."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import RowMapping, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.proto.rows import IssueRow, TaskRow
from hangar.store import agents, blockage, dependencies, tasks
from hangar.store.context import StoreContext
from hangar.store.convert import issue_row, parse_actor
from hangar.store.errors import InvalidValue, NotFound
from hangar.store.paging import older_than
from hangar.store.schema import ISSUE_STATES, issue


class Unset(enum.Enum):
    """The type of :data:`UNSET`: "leave this field alone" (None means "clear it")."""

    UNSET = "UNSET"


UNSET: Final = Unset.UNSET

_I = issue


def check_state(state: str) -> None:
    if state not in ISSUE_STATES:
        raise InvalidValue(f"issue state must be one of {', '.join(ISSUE_STATES)}, got {state!r}")


async def _check_assignee(conn: AsyncConnection, workspace_id: str, ref: str) -> tuple[str, str]:
    kind, ident = parse_actor(ref)
    if kind == "agent":
        # An agent of another workspace must not be assignable (nor revealed as existing).
        await agents.require(conn, workspace_id, ident)
    return kind, ident


async def create(
    conn: AsyncConnection,
    ctx: StoreContext,
    workspace_id: str,
    *,
    title: str,
    description: str | None,
    priority: int,
    repo_path: str | None,
    creator: str,
    assign_agent: str | None,
    autopilot_run_id: str | None = None,
    blocked_by: Sequence[str] = (),
) -> tuple[IssueRow, TaskRow | None]:
    """A new issue; with ``assign_agent`` also its queued task, unless ``blocked_by`` (issue
    ids of this workspace) leaves it blocked: then its last blocker's finalize queues it."""
    title = title.strip()
    if not title:
        raise InvalidValue("issue title must not be empty")
    tasks.check_priority(priority)
    creator_type, creator_id = parse_actor(creator)
    assignee = None
    if assign_agent is not None:  # one read: the id or name, checked in this transaction
        assignee = await agents.get_mapping(conn, workspace_id, assign_agent)
        if assignee is None:
            raise NotFound("agent", assign_agent)
    now = ctx.now()
    values: dict[str, Any] = {
        "id": ctx.new_id(now),
        "workspace_id": workspace_id,
        "title": title,
        "description": description,
        "state": "open",
        "priority": priority,
        "repo_path": repo_path,
        "creator_type": creator_type,
        "creator_id": creator_id,
        "created_at": now,
    }
    if assignee is not None:
        values |= {"assignee_type": "agent", "assignee_id": assignee["id"]}
    result = await conn.execute(_I.insert().values(values).returning(*_I.c))
    row = issue_row(result.mappings().one())
    for blocker_id in dict.fromkeys(blocked_by):  # a new issue closes no loop
        await dependencies.add(conn, ctx, workspace_id, row.id, blocker_id)
    task = None
    blocked = (
        bool(blocked_by) and (await dependencies.blockage_of(conn, workspace_id, row.id)).blocked
    )
    if assignee is not None and not blocked:
        task = await tasks.insert_queued(
            conn,
            ctx,
            assignee,
            issue_id=row.id,
            priority=priority,
            autopilot_run_id=autopilot_run_id,
        )
    if blocked:
        row = (await blockage.with_blocked(conn, workspace_id, [row]))[0]
    return row, task


async def _get_mapping(
    conn: AsyncConnection, workspace_id: str, issue_id: str
) -> RowMapping | None:
    result = await conn.execute(
        select(_I).where(_I.c.id == issue_id, _I.c.workspace_id == workspace_id)
    )
    return result.mappings().first()


async def get(conn: AsyncConnection, workspace_id: str, issue_id: str) -> IssueRow | None:
    found = await _get_mapping(conn, workspace_id, issue_id)
    if found is None:
        return None
    return (await blockage.with_blocked(conn, workspace_id, [issue_row(found)]))[0]


async def list_for_workspace(
    conn: AsyncConnection,
    workspace_id: str,
    state: str | None = None,
    *,
    limit: int | None = None,
    before: str | None = None,
    assignee: str | None = None,
    assignee_kind: str | None = None,
    blocked: bool | None = None,
) -> list[IssueRow]:
    """Newest first; ``before`` (an issue id) starts after that issue. ``assignee`` keeps
    one actor's issues; ``assignee_kind`` (``agent`` or ``member``) one kind of actor's;
    ``blocked`` only blocked (True) or only ready (False) ones. Each row says why it is
    blocked (``IssueRow.blocked``)."""
    stmt = select(_I).where(_I.c.workspace_id == workspace_id)
    if blocked is not None:
        stmt = stmt.where(blockage.blocked_clause() if blocked else ~blockage.blocked_clause())
    if state is not None:
        check_state(state)
        stmt = stmt.where(_I.c.state == state)
    if assignee is not None:
        kind, _, actor_id = assignee.partition(":")
        stmt = stmt.where(_I.c.assignee_type == kind, _I.c.assignee_id == actor_id)
    if assignee_kind is not None:
        if assignee_kind not in ("agent", "member"):
            raise ValueError(f"unknown assignee kind {assignee_kind!r}")
        stmt = stmt.where(_I.c.assignee_type == assignee_kind)
    if before is not None:
        stmt = await older_than(
            conn, stmt, _I, kind="issue", before=before, workspace_id=workspace_id
        )
    stmt = stmt.order_by(_I.c.created_at.desc(), _I.c.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = [issue_row(m) for m in (await conn.execute(stmt)).mappings()]
    return await blockage.with_blocked(conn, workspace_id, rows)


async def assign(
    conn: AsyncConnection, ctx: StoreContext, workspace_id: str, issue_id: str, who: str
) -> tuple[IssueRow, TaskRow | None]:
    """Hand an issue to ``who``: ``member:<id>`` just assigns; an agent (``agent:<id>``, or its
    id or name) also queues its task, in the same transaction. A task already pending for
    the issue is a ``Conflict`` and changes nothing."""
    found = await _get_mapping(conn, workspace_id, issue_id)
    if found is None:
        raise NotFound("issue", issue_id)
    if who.startswith("member:"):
        row = await update_fields(conn, workspace_id, issue_id, assignee=who)
        return row, None
    agent_ref = who.removeprefix("agent:")
    agent = await agents.get_mapping(conn, workspace_id, agent_ref)
    if agent is None:
        raise NotFound("agent", agent_ref)
    task = None
    if not (await dependencies.blockage_of(conn, workspace_id, issue_id)).blocked:
        # a blocked issue queues nothing: its last blocker's finalize queues the task
        task = await tasks.insert_queued(
            conn, ctx, agent, issue_id=issue_id, priority=found["priority"]
        )
    row = await update_fields(conn, workspace_id, issue_id, assignee=f"agent:{agent['id']}")
    return (await blockage.with_blocked(conn, workspace_id, [row]))[0], task


async def update_fields(
    conn: AsyncConnection,
    workspace_id: str,
    issue_id: str,
    *,
    state: str | Unset = UNSET,
    assignee: str | Unset | None = UNSET,
    priority: int | Unset = UNSET,
) -> IssueRow:
    values: dict[str, Any] = {}
    if not isinstance(state, Unset):
        check_state(state)
        values["state"] = state
    if not isinstance(priority, Unset):
        tasks.check_priority(priority)
        values["priority"] = priority
    if assignee is None:
        values |= {"assignee_type": None, "assignee_id": None}
    elif not isinstance(assignee, Unset):
        kind, ident = await _check_assignee(conn, workspace_id, assignee)
        values |= {"assignee_type": kind, "assignee_id": ident}
    if not values:
        found = await _get_mapping(conn, workspace_id, issue_id)
    else:
        stmt = (
            update(_I)
            .where(_I.c.id == issue_id, _I.c.workspace_id == workspace_id)
            .values(values)
            .returning(*_I.c)
        )
        found = (await conn.execute(stmt)).mappings().first()
    if found is None:
        raise NotFound("issue", issue_id)
    return issue_row(found)
