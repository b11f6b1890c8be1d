"""Tasks: enqueue, claim and reads; the FSM's write paths are in ``finalize``.

Every status write goes through :func:`transition`, which builds the conditional UPDATE from
``hangar.core.fsm.TRANSITIONS``: the FSM table is the single source of truth for what may
move where, and a row that is not in a legal source state is never touched.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

from sqlalchemy import (
    BindParameter,
    RowMapping,
    Update,
    bindparam,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.core.failures import DEFAULT_MAX_ATTEMPTS
from hangar.core.fsm import (
    ACTIVE,
    PENDING,
    TERMINAL,
    TaskStatus,
    check_transition,
    parse_status,
    sources_of,
)
from hangar.proto.rows import TaskRow
from hangar.store import agents, blockage
from hangar.store.context import StoreContext
from hangar.store.convert import task_row
from hangar.store.errors import Blocked, Conflict, InvalidValue, NotFound
from hangar.store.paging import older_than
from hangar.store.schema import agent, agent_task_queue, issue

_T = agent_task_queue
_Q, _D, _R = TaskStatus.QUEUED, TaskStatus.DISPATCHED, TaskStatus.RUNNING


def values_of(statuses: Iterable[TaskStatus]) -> list[str]:
    return sorted(s.value for s in statuses)


def transition(target: TaskStatus, sources: Iterable[TaskStatus] | None = None) -> Update:
    """``UPDATE agent_task_queue SET status=target WHERE status IN (sources)``.

    ``sources`` defaults to every legal source of ``target``; a narrower set is checked
    edge by edge against the FSM table, so an illegal band can not even be expressed.
    """
    chosen = sources_of(target) if sources is None else frozenset(sources)
    for source in chosen:
        check_transition(source, target)
    return update(_T).where(_T.c.status.in_(values_of(chosen))).values(status=target.value)


def check_priority(priority: int) -> None:
    if not 0 <= priority <= 3:
        raise InvalidValue(f"priority must be 0..3, got {priority}")


# --- enqueue and claim ------------------------------------------------------------------


async def _require_issue(conn: AsyncConnection, workspace_id: str, issue_id: str) -> None:
    found = await conn.scalar(
        select(issue.c.id).where(issue.c.id == issue_id, issue.c.workspace_id == workspace_id)
    )
    if found is None:
        raise NotFound("issue", issue_id)


async def enqueue(
    conn: AsyncConnection,
    ctx: StoreContext,
    workspace_id: str,
    *,
    agent_id: str,
    issue_id: str | None = None,
    priority: int = 0,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    autopilot_run_id: str | None = None,
) -> TaskRow:
    assignee = await agents.require(conn, workspace_id, agent_id)
    if issue_id is not None:
        await _require_issue(conn, workspace_id, issue_id)
        # no insert path bypasses the blocked rule (docs/lifecycle.md#dependencies)
        why = (await blockage.reasons(conn, workspace_id, [issue_id])).get(issue_id)
        if why is not None:
            raise Blocked(issue_id, why)
    return await insert_queued(
        conn,
        ctx,
        assignee,
        issue_id=issue_id,
        priority=priority,
        max_attempts=max_attempts,
        autopilot_run_id=autopilot_run_id,
    )


async def insert_queued(
    conn: AsyncConnection,
    ctx: StoreContext,
    assignee: RowMapping,
    *,
    issue_id: str | None,
    priority: int,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    autopilot_run_id: str | None = None,
) -> TaskRow:
    """A queued task for an agent row the caller has already checked, in its workspace."""
    check_priority(priority)
    if max_attempts < 1:
        raise InvalidValue("max_attempts must be at least 1")
    now = ctx.now()
    values = {
        "id": ctx.new_id(now),
        "workspace_id": assignee["workspace_id"],
        "runtime_id": assignee["runtime_id"],
        "agent_id": assignee["id"],
        "issue_id": issue_id,
        "status": _Q.value,
        "priority": priority,
        "attempt": 1,
        "max_attempts": max_attempts,
        "autopilot_run_id": autopilot_run_id,
        "created_at": now,
    }
    try:
        result = await conn.execute(_T.insert().values(values).returning(*_T.c))
    except IntegrityError as exc:
        raise Conflict(
            f"a pending task already exists for issue {issue_id} and agent {assignee['id']}"
        ) from exc
    return task_row(result.mappings().one())


async def claim(
    conn: AsyncConnection, ctx: StoreContext, runtime_ids: Sequence[str]
) -> TaskRow | None:
    """One statement: dispatch the best queued task of these runtimes, or return None.

    Best = highest priority, then oldest. Skipped: tasks whose agent already holds
    ``max_concurrent_tasks`` dispatched+running slots, and tasks whose (issue, agent)
    is running right now (the 0012 active-set guard). PostgreSQL claimers skip rows
    another claimer has locked instead of queueing behind it.

    The cap is checked once per agent in a MATERIALIZED CTE: correlated to each candidate
    row, the count made a claim O(queued x active) whenever the planner lacked statistics.
    """
    if not runtime_ids:
        return None
    params = {"rids": sorted(set(runtime_ids)), "now": ctx.now()}
    row = (await conn.execute(_claim_statement(), params)).mappings().first()
    return None if row is None else task_row(row)


@functools.cache
def _claim_statement() -> Update:
    """Built once: composing the CTE and aliases costs more CPU than running the claim."""
    rids: BindParameter[str] = bindparam("rids", expanding=True)
    t, busy, same = _T.alias("t"), _T.alias("busy"), _T.alias("same")
    held = (
        select(func.count())
        .select_from(busy)
        .where(busy.c.agent_id == agent.c.id, busy.c.status.in_(values_of(ACTIVE)))
        .scalar_subquery()
    )
    # Tasks take their runtime from the agent (enqueue and retry both copy it).
    open_agents = (
        select(agent.c.id)
        .where(agent.c.runtime_id.in_(rids), held < agent.c.max_concurrent_tasks)
        .cte("open_agents")
        .prefix_with("MATERIALIZED")
    )
    running_same = exists().where(
        same.c.agent_id == t.c.agent_id,
        same.c.status == _R.value,
        same.c.issue_id == t.c.issue_id,
    )
    pick = (
        select(t.c.id)
        .where(
            t.c.status == _Q.value,
            t.c.runtime_id.in_(rids),
            t.c.agent_id.in_(select(open_agents.c.id)),
            or_(t.c.issue_id.is_(None), ~running_same),
        )
        .order_by(t.c.priority.desc(), t.c.created_at, t.c.id)
        .limit(1)
        .with_for_update(of=t, skip_locked=True)
        .scalar_subquery()
    )
    return (
        transition(_D, {_Q})
        .where(_T.c.id == pick)
        .values(dispatched_at=bindparam("now"))
        .returning(*_T.c)
    )


async def cancel_requested(conn: AsyncConnection, task_ids: Sequence[str]) -> list[str]:
    """Which of these (live) tasks someone asked to cancel: their daemon stops them."""
    if not task_ids:
        return []
    result = await conn.execute(
        select(_T.c.id).where(
            _T.c.id.in_(sorted(set(task_ids))),
            _T.c.cancel_requested_at.is_not(None),
            _T.c.status.in_(values_of(ACTIVE)),
        )
    )
    return [str(i) for i in result.scalars()]


async def pin_session(conn: AsyncConnection, task_id: str, session_id: str) -> bool:
    """Record the agent's session id as soon as it is known (a resumable run survives a
    crash). Only a live row takes it: terminal rows are never mutated."""
    stmt = (
        update(_T)
        .where(_T.c.id == task_id, _T.c.status.in_(values_of(ACTIVE)))
        .values(session_id=session_id)
    )
    return (await conn.execute(stmt)).rowcount == 1


# --- reads ------------------------------------------------------------------------------


async def get(conn: AsyncConnection, workspace_id: str | None, task_id: str) -> TaskRow | None:
    stmt = select(_T).where(_T.c.id == task_id)
    if workspace_id is not None:
        stmt = stmt.where(_T.c.workspace_id == workspace_id)
    found = (await conn.execute(stmt)).mappings().first()
    return None if found is None else task_row(found)


async def list_for_workspace(
    conn: AsyncConnection,
    workspace_id: str,
    *,
    status: str | None = None,
    issue_id: str | None = None,
    limit: int | None = None,
    before: str | None = None,
) -> list[TaskRow]:
    """Newest first; ``before`` (a task id) starts after that task."""
    stmt = select(_T).where(_T.c.workspace_id == workspace_id)
    if status is not None:
        stmt = stmt.where(_T.c.status == parse_status(status).value)
    if issue_id is not None:
        stmt = stmt.where(_T.c.issue_id == issue_id)
    if before is not None:
        stmt = await older_than(
            conn, stmt, _T, kind="task", before=before, workspace_id=workspace_id
        )
    stmt = stmt.order_by(_T.c.created_at.desc(), _T.c.id.desc())
    if limit is not None:
        if limit < 0:
            raise InvalidValue("limit must not be negative")
        stmt = stmt.limit(limit)
    return [task_row(m) for m in (await conn.execute(stmt)).mappings()]


async def ended_with_work_dir(
    conn: AsyncConnection, workspace_id: str, task_id: str | None = None
) -> list[TaskRow]:
    """Ended tasks of the workspace that had a directory (newest first): what may be left
    of them on disk."""
    stmt = select(_T).where(
        _T.c.workspace_id == workspace_id,
        _T.c.work_dir.is_not(None),
        _T.c.status.in_(values_of(TERMINAL)),
    )
    if task_id is not None:
        stmt = stmt.where(_T.c.id == task_id)
    stmt = stmt.order_by(_T.c.created_at.desc(), _T.c.id.desc())
    return [task_row(m) for m in (await conn.execute(stmt)).mappings()]


async def status_counts(conn: AsyncConnection, workspace_id: str) -> dict[str, int]:
    """How many of the workspace's tasks sit in each status (absent statuses count 0)."""
    rows = await conn.execute(
        select(_T.c.status, func.count())
        .where(_T.c.workspace_id == workspace_id)
        .group_by(_T.c.status)
    )
    counts = dict.fromkeys((s.value for s in TaskStatus), 0)
    counts.update({str(status): int(n) for status, n in rows})
    return counts


async def pending_count(conn: AsyncConnection, runtime_ids: Sequence[str]) -> int:
    if not runtime_ids:
        return 0
    count = await conn.scalar(
        select(func.count())
        .select_from(_T)
        .where(_T.c.runtime_id.in_(sorted(set(runtime_ids))), _T.c.status.in_(values_of(PENDING)))
    )
    return int(count or 0)


async def active_ids(conn: AsyncConnection, runtime_ids: Sequence[str]) -> list[str]:
    if not runtime_ids:
        return []
    result = await conn.execute(
        select(_T.c.id)
        .where(_T.c.runtime_id.in_(sorted(set(runtime_ids))), _T.c.status.in_(values_of(ACTIVE)))
        .order_by(_T.c.id)
    )
    return [str(i) for i in result.scalars()]
