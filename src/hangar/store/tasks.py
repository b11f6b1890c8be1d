"""Task lifecycle services (contract.md §6): enqueue, claim, idempotent finalize, retry.

Every status write goes through :func:`transition`, which builds the conditional UPDATE from
``hangar.core.fsm.TRANSITIONS``: the FSM table is the single source of truth for what may
move where, and a row that is not in a legal source state is never touched.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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

from hangar.core.failures import DEFAULT_MAX_ATTEMPTS, FailureReason, should_retry
from hangar.core.fsm import (
    ACTIVE,
    PENDING,
    FinalizeKind,
    FinalizeOutcome,
    TaskStatus,
    check_transition,
    parse_status,
    resolve_noop,
    sources_of,
)
from hangar.proto.rows import IssueRow, TaskRow
from hangar.store import agents
from hangar.store.context import StoreContext
from hangar.store.convert import dump_json, issue_row, task_row
from hangar.store.dml import upsert
from hangar.store.errors import Conflict, InvalidTransition, InvalidValue, NotFound
from hangar.store.schema import agent, agent_task_queue, autopilot_run, issue

_T = agent_task_queue
_Q, _D, _R = TaskStatus.QUEUED, TaskStatus.DISPATCHED, TaskStatus.RUNNING
_DONE, _F, _C = TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELLED

#: autopilot_run.status for a task that ended for good in each terminal state.
_RUN_STATUS = {_DONE: "completed", _F: "failed", _C: "cancelled"}


def _values(statuses: Iterable[TaskStatus]) -> list[str]:
    return sorted(s.value for s in statuses)


@dataclass(frozen=True)
class TaskChange:
    """What one FSM service wrote, as the rows look now, so nobody has to read them again.

    ``outcome`` says how the transition resolved; ``task`` is the row after the write
    (None when nothing was written), ``issues`` the issues whose state the write moved,
    ``children`` the retries it queued.
    """

    outcome: FinalizeOutcome
    task: TaskRow | None = None
    issues: list[IssueRow] = field(default_factory=list)
    children: list[TaskRow] = field(default_factory=list)

    @property
    def kind(self) -> FinalizeKind:
        return self.outcome.kind

    @property
    def found(self) -> TaskStatus | None:
        return self.outcome.found

    @property
    def target(self) -> TaskStatus:
        return self.outcome.target

    @property
    def ok(self) -> bool:
        return self.outcome.ok

    @property
    def wrote(self) -> bool:
        return self.outcome.wrote

    @property
    def child(self) -> TaskRow | None:
        return self.children[0] if self.children else None


def transition(target: TaskStatus, sources: Iterable[TaskStatus] | None = None) -> Update:
    """``UPDATE agent_task_queue SET status=target WHERE status IN (sources)``.

    ``sources`` defaults to every legal source of ``target``; a narrower set is checked
    edge by edge against the FSM table, so an illegal band can not even be expressed.
    """
    chosen = sources_of(target) if sources is None else frozenset(sources)
    for source in chosen:
        check_transition(source, target)
    return update(_T).where(_T.c.status.in_(_values(chosen))).values(status=target.value)


def check_priority(priority: int) -> None:
    if not 0 <= priority <= 3:
        raise InvalidValue(f"priority must be 0..3, got {priority}")


def _prior_status(row: RowMapping, sources: frozenset[TaskStatus]) -> TaskStatus:
    """The state a just-transitioned row came from. RETURNING only shows the new row, but
    the stamps tell: started_at is set only by start, dispatched_at only by claim (and
    cleared again by a reclaim)."""
    if len(sources) == 1:
        return next(iter(sources))
    if _R in sources and row["started_at"] is not None:
        return _R
    if _D in sources and row["dispatched_at"] is not None:
        return _D
    return _Q  # every multi-source target (failed, cancelled) has queued among its sources


async def _status_of(
    conn: AsyncConnection, task_id: str, workspace_id: str | None
) -> TaskStatus | None:
    stmt = select(_T.c.status).where(_T.c.id == task_id)
    if workspace_id is not None:
        stmt = stmt.where(_T.c.workspace_id == workspace_id)
    found = await conn.scalar(stmt)
    return None if found is None else TaskStatus(found)


async def finalize(
    conn: AsyncConnection,
    task_id: str,
    target: TaskStatus,
    values: Mapping[str, Any],
    *,
    workspace_id: str | None = None,
) -> tuple[FinalizeOutcome, RowMapping | None]:
    """The idempotent transition: a conditional UPDATE; 0 rows → re-read and classify.

    A racing writer that got there first is never overwritten: the loser's UPDATE matches
    nothing and it learns the winner's state from the re-read.
    """
    chosen = sources_of(target)
    stmt = transition(target, chosen).where(_T.c.id == task_id).values(**values)
    if workspace_id is not None:
        stmt = stmt.where(_T.c.workspace_id == workspace_id)
    row = (await conn.execute(stmt.returning(*_T.c))).mappings().first()
    if row is not None:
        outcome = FinalizeOutcome(FinalizeKind.TRANSITIONED, _prior_status(row, chosen), target)
        return outcome, row
    return resolve_noop(await _status_of(conn, task_id, workspace_id), target), None


# --- side effects of a task ending ------------------------------------------------------


async def _set_issue_states(
    conn: AsyncConnection, issue_ids: Sequence[str], state: str, *conditions: Any
) -> list[IssueRow]:
    stmt = update(issue).where(issue.c.id.in_(issue_ids), *conditions).values(state=state)
    return [issue_row(m) for m in (await conn.execute(stmt.returning(*issue.c))).mappings()]


async def _mark_issues_started(conn: AsyncConnection, issue_ids: Sequence[str]) -> list[IssueRow]:
    return await _set_issue_states(conn, issue_ids, "in_progress", issue.c.state == "open")


async def _mark_issues_done(conn: AsyncConnection, issue_ids: Sequence[str]) -> list[IssueRow]:
    open_ = issue.c.state.in_(("open", "in_progress"))
    return await _set_issue_states(conn, issue_ids, "done", open_)


async def _reopen_issues(conn: AsyncConnection, issue_ids: Sequence[str]) -> list[IssueRow]:
    """Back to open, unless another task is still running on the issue."""
    busy = _T.alias("busy")
    still_running = exists().where(busy.c.issue_id == issue.c.id, busy.c.status == _R.value)
    in_progress = issue.c.state == "in_progress"
    return await _set_issue_states(conn, issue_ids, "open", in_progress, ~still_running)


async def settle(
    conn: AsyncConnection, ctx: StoreContext, target: TaskStatus, rows: Sequence[RowMapping]
) -> list[IssueRow]:
    """Effects of tasks that ended for good (no retry follows): the issue's state and the
    autopilot run cascade, in the finalize's own transaction. Returns the moved issues."""
    issue_ids = sorted({r["issue_id"] for r in rows if r["issue_id"] is not None})
    moved: list[IssueRow] = []
    if issue_ids:
        if target is _DONE:
            moved = await _mark_issues_done(conn, issue_ids)
        else:
            moved = await _reopen_issues(conn, issue_ids)
    run_ids = sorted({r["autopilot_run_id"] for r in rows if r["autopilot_run_id"] is not None})
    if run_ids:
        await conn.execute(
            update(autopilot_run)
            .where(autopilot_run.c.id.in_(run_ids), autopilot_run.c.completed_at.is_(None))
            .values(status=_RUN_STATUS[target], completed_at=ctx.now())
        )
    return moved


def _child_values(ctx: StoreContext, parent: RowMapping) -> dict[str, Any]:
    now = ctx.now()
    return {
        "id": ctx.new_id(now),
        "workspace_id": parent["workspace_id"],
        "runtime_id": parent["runtime_id"],
        "agent_id": parent["agent_id"],
        "issue_id": parent["issue_id"],
        "status": _Q.value,
        "priority": parent["priority"],
        "attempt": parent["attempt"] + 1,
        "max_attempts": parent["max_attempts"],
        "parent_task_id": parent["id"],
        # The tree survives for a resumed run; per-run columns start empty (contract §6).
        "work_dir": parent["work_dir"],
        "autopilot_run_id": parent["autopilot_run_id"],
        "created_at": now,
    }


async def after_fail(
    conn: AsyncConnection, ctx: StoreContext, rows: Sequence[RowMapping], reason: FailureReason
) -> tuple[list[TaskRow], list[IssueRow]]:
    """Spawn retry children where ``should_retry`` says so; settle the rest. Returns the
    children and the issues that moved.

    A child that would collide with a pending task for the same (issue, agent) is skipped
    (ON CONFLICT DO NOTHING): that pending task already covers the work, and failing the
    whole finalize over it would leave the parent stuck in its old state.
    """
    children: list[TaskRow] = []
    settled: list[RowMapping] = []
    for row in rows:
        if should_retry(reason, row["attempt"], row["max_attempts"]):
            stmt = upsert(conn, _T).values(_child_values(ctx, row)).on_conflict_do_nothing()
            child = (await conn.execute(stmt.returning(*_T.c))).mappings().first()
            if child is not None:
                children.append(task_row(child))
                continue
        settled.append(row)
    return children, await settle(conn, ctx, _F, settled)


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
        .where(busy.c.agent_id == agent.c.id, busy.c.status.in_(_values(ACTIVE)))
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


# --- the finalize paths -----------------------------------------------------------------


async def start(
    conn: AsyncConnection,
    ctx: StoreContext,
    task_id: str,
    *,
    work_dir: str | None,
    workspace_id: str | None = None,
) -> TaskChange:
    values: dict[str, Any] = {"started_at": ctx.now()}
    if work_dir is not None:
        values["work_dir"] = work_dir
    outcome, row = await finalize(conn, task_id, _R, values, workspace_id=workspace_id)
    if row is None:
        return TaskChange(outcome)
    moved = [] if row["issue_id"] is None else await _mark_issues_started(conn, [row["issue_id"]])
    return TaskChange(outcome, task_row(row), moved)


async def complete(
    conn: AsyncConnection,
    ctx: StoreContext,
    task_id: str,
    *,
    result: Mapping[str, Any] | None,
    session_id: str | None,
    workspace_id: str | None = None,
) -> TaskChange:
    values: dict[str, Any] = {"finished_at": ctx.now()}
    if result is not None:
        values["result"] = dump_json(result)
    if session_id is not None:
        values["session_id"] = session_id
    outcome, row = await finalize(conn, task_id, _DONE, values, workspace_id=workspace_id)
    if row is None:
        return TaskChange(outcome)
    return TaskChange(outcome, task_row(row), await settle(conn, ctx, _DONE, [row]))


async def fail(
    conn: AsyncConnection,
    ctx: StoreContext,
    task_id: str,
    *,
    reason: FailureReason,
    result: Mapping[str, Any] | None,
    session_id: str | None,
    workspace_id: str | None = None,
) -> TaskChange:
    """→ failed from any legal source; keeps session_id/work_dir so a retry can resume."""
    values: dict[str, Any] = {"finished_at": ctx.now(), "failure_reason": reason.value}
    if result is not None:
        values["result"] = dump_json(result)
    if session_id is not None:
        values["session_id"] = session_id
    outcome, row = await finalize(conn, task_id, _F, values, workspace_id=workspace_id)
    if row is None:
        return TaskChange(outcome)
    children, moved = await after_fail(conn, ctx, [row], reason)
    return TaskChange(outcome, task_row(row), moved, children)


async def cancel(
    conn: AsyncConnection, ctx: StoreContext, workspace_id: str | None, task_id: str
) -> TaskChange:
    """→ cancelled from any legal source, at once (the daemon running it has stopped it)."""
    return await _cancel_from(conn, ctx, workspace_id, task_id, sources_of(_C))


async def _cancel_from(
    conn: AsyncConnection,
    ctx: StoreContext,
    workspace_id: str | None,
    task_id: str,
    sources: frozenset[TaskStatus],
) -> TaskChange:
    values = {"finished_at": ctx.now(), "failure_reason": FailureReason.USER_CANCEL.value}
    stmt = transition(_C, sources).where(_T.c.id == task_id).values(**values)
    if workspace_id is not None:
        stmt = stmt.where(_T.c.workspace_id == workspace_id)
    row = (await conn.execute(stmt.returning(*_T.c))).mappings().first()
    if row is None:
        return TaskChange(resolve_noop(await _status_of(conn, task_id, workspace_id), _C))
    outcome = FinalizeOutcome(FinalizeKind.TRANSITIONED, _prior_status(row, sources), _C)
    return TaskChange(outcome, task_row(row), await settle(conn, ctx, _C, [row]))


async def request_cancel(
    conn: AsyncConnection, ctx: StoreContext, workspace_id: str, task_id: str
) -> TaskChange:
    """A person's cancel. A queued task is cancelled at once; a dispatched or running one
    holds a process on some daemon, so the request is recorded (``cancel_requested_at``)
    and that daemon stops the agent and finalizes. Returns the cancelled row, or the
    marked row with an ILLEGAL_STATE outcome naming where it is now."""
    change = await _cancel_from(conn, ctx, workspace_id, task_id, frozenset({_Q}))
    if change.wrote or change.found not in ACTIVE:
        return change
    stmt = (
        update(_T)
        .where(
            _T.c.id == task_id,
            _T.c.workspace_id == workspace_id,
            _T.c.status.in_(_values(ACTIVE)),
        )
        .values(cancel_requested_at=func.coalesce(_T.c.cancel_requested_at, ctx.now()))
        .returning(*_T.c)
    )
    row = (await conn.execute(stmt)).mappings().first()
    if row is None:  # it left the active states in between: say where it is now
        return TaskChange(resolve_noop(await _status_of(conn, task_id, workspace_id), _C))
    return TaskChange(change.outcome, task_row(row))


async def transition_by_hand(
    conn: AsyncConnection, ctx: StoreContext, workspace_id: str, task_id: str, to_status: str
) -> TaskChange:
    """Any edge of the table, by name; each target takes its service's path."""
    target = parse_status(to_status)
    if target is _C:
        return await cancel(conn, ctx, workspace_id, task_id)
    if target is _F:
        return await fail(
            conn,
            ctx,
            task_id,
            reason=FailureReason.UNKNOWN,
            result=None,
            session_id=None,
            workspace_id=workspace_id,
        )
    if target is _DONE:
        return await complete(
            conn, ctx, task_id, result=None, session_id=None, workspace_id=workspace_id
        )
    if target is _R:
        return await start(conn, ctx, task_id, work_dir=None, workspace_id=workspace_id)
    values = {"dispatched_at": ctx.now() if target is _D else None}
    outcome, row = await finalize(conn, task_id, target, values, workspace_id=workspace_id)
    return TaskChange(outcome, None if row is None else task_row(row))


async def retry(
    conn: AsyncConnection, ctx: StoreContext, workspace_id: str, task_id: str
) -> TaskRow:
    """By hand: a queued child of a failed or cancelled task, even past max_attempts."""
    result = await conn.execute(
        select(_T).where(_T.c.id == task_id, _T.c.workspace_id == workspace_id)
    )
    parent = result.mappings().first()
    if parent is None:
        raise NotFound("task", task_id)
    found = TaskStatus(parent["status"])
    if found not in (_F, _C):
        raise InvalidTransition(resolve_noop(found, _Q))
    try:
        inserted = await conn.execute(
            _T.insert().values(_child_values(ctx, parent)).returning(*_T.c)
        )
    except IntegrityError as exc:
        raise Conflict(
            f"a pending task already exists for issue {parent['issue_id']} "
            f"and agent {parent['agent_id']}"
        ) from exc
    return task_row(inserted.mappings().one())


async def cancel_requested(conn: AsyncConnection, task_ids: Sequence[str]) -> list[str]:
    """Which of these (live) tasks someone asked to cancel: their daemon stops them."""
    if not task_ids:
        return []
    result = await conn.execute(
        select(_T.c.id).where(
            _T.c.id.in_(sorted(set(task_ids))),
            _T.c.cancel_requested_at.is_not(None),
            _T.c.status.in_(_values(ACTIVE)),
        )
    )
    return [str(i) for i in result.scalars()]


async def pin_session(conn: AsyncConnection, task_id: str, session_id: str) -> bool:
    """Record the agent's session id as soon as it is known (a resumable run survives a
    crash). Only a live row takes it: terminal rows are never mutated."""
    stmt = (
        update(_T)
        .where(_T.c.id == task_id, _T.c.status.in_(_values(ACTIVE)))
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
) -> list[TaskRow]:
    stmt = select(_T).where(_T.c.workspace_id == workspace_id)
    if status is not None:
        stmt = stmt.where(_T.c.status == parse_status(status).value)
    if issue_id is not None:
        stmt = stmt.where(_T.c.issue_id == issue_id)
    stmt = stmt.order_by(_T.c.created_at.desc(), _T.c.id.desc())
    if limit is not None:
        if limit < 0:
            raise InvalidValue("limit must not be negative")
        stmt = stmt.limit(limit)
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
        .where(_T.c.runtime_id.in_(sorted(set(runtime_ids))), _T.c.status.in_(_values(PENDING)))
    )
    return int(count or 0)


async def active_ids(conn: AsyncConnection, runtime_ids: Sequence[str]) -> list[str]:
    if not runtime_ids:
        return []
    result = await conn.execute(
        select(_T.c.id)
        .where(_T.c.runtime_id.in_(sorted(set(runtime_ids))), _T.c.status.in_(_values(ACTIVE)))
        .order_by(_T.c.id)
    )
    return [str(i) for i in result.scalars()]
