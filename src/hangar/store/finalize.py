"""The FSM's write paths: start, complete, fail, cancel, a cancel request, retry, and a
move by hand — each an idempotent conditional UPDATE plus what it implies (the issue's state,
the autopilot run, retry children) in the same transaction, returning what it changed
(docs/lifecycle.md#finalize).

A racing writer that got there first is never overwritten: the loser's UPDATE matches
nothing and it learns the winner's state from a re-read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import RowMapping, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.core.failures import FailureReason, should_retry
from hangar.core.fsm import (
    ACTIVE,
    PENDING,
    FinalizeKind,
    FinalizeOutcome,
    TaskStatus,
    parse_status,
    resolve_noop,
    sources_of,
)
from hangar.proto.comments import CommentRow
from hangar.proto.rows import IssueRow, TaskRow
from hangar.store import blockage, comments, dependencies
from hangar.store.context import StoreContext
from hangar.store.convert import dump_json, issue_row, task_row
from hangar.store.dml import upsert
from hangar.store.errors import AlreadyRetried, Blocked, Conflict, InvalidTransition, NotFound
from hangar.store.schema import agent_task_queue, autopilot_run, issue
from hangar.store.tasks import transition, values_of

_T = agent_task_queue
_Q, _D, _R = TaskStatus.QUEUED, TaskStatus.DISPATCHED, TaskStatus.RUNNING
_DONE, _F, _C = TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELLED

#: autopilot_run.status for a task that ended for good in each terminal state.
_RUN_STATUS = {_DONE: "completed", _F: "failed", _C: "cancelled"}


@dataclass(frozen=True)
class TaskChange:
    """What one FSM service wrote, as the rows look now, so nobody has to read them again.

    ``outcome`` says how the transition resolved; ``task`` is the row after the write
    (None when nothing was written), ``issues`` the issues whose state the write moved,
    ``children`` the retries it queued, ``comments`` what it posted on the issue's thread.
    """

    outcome: FinalizeOutcome
    task: TaskRow | None = None
    issues: list[IssueRow] = field(default_factory=list)
    children: list[TaskRow] = field(default_factory=list)
    #: the comments the write posted: a done task's result on its issue's thread
    comments: list[CommentRow] = field(default_factory=list)
    #: dependents' tasks queued because this write finished their last blocker done
    woken: list[TaskRow] = field(default_factory=list)
    #: open dependents this write left blocked by ending their blocker failed or cancelled
    stranded: list[blockage.Stranding] = field(default_factory=list)

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
    rows = [issue_row(m) for m in (await conn.execute(stmt.returning(*issue.c))).mappings()]
    return await blockage.with_blocked_any(conn, rows)  # a moved row still says why it waits


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
    conn: AsyncConnection,
    ctx: StoreContext,
    target: TaskStatus,
    rows: Sequence[RowMapping],
    woken: list[TaskRow] | None = None,
    stranded: list[blockage.Stranding] | None = None,
) -> list[IssueRow]:
    """Effects of tasks that ended for good (no retry follows): the issue's state and the
    autopilot run cascade, in the finalize's own transaction. Returns the moved issues.

    An issue that moves to done wakes its dependents whose last blocker it was: their tasks
    are queued here, in this transaction, and appended to ``woken`` when given. One that
    ended failed or cancelled leaves its open dependents stranded: they are appended to
    ``stranded`` when given, to be announced."""
    issue_ids = sorted({r["issue_id"] for r in rows if r["issue_id"] is not None})
    moved: list[IssueRow] = []
    if issue_ids:
        if target is _DONE:
            moved = await _mark_issues_done(conn, issue_ids)
            queued = await dependencies.wake_dependents(conn, ctx, [i.id for i in moved])
            if woken is not None:
                woken.extend(queued)
        else:
            moved = await _reopen_issues(conn, issue_ids)
            if stranded is not None:
                stranded.extend(await blockage.strandings(conn, issue_ids))
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
        # The work tree carries over; per-run columns start empty (docs/lifecycle.md#retries).
        "work_dir": parent["work_dir"],
        "autopilot_run_id": parent["autopilot_run_id"],
        "created_at": now,
    }


async def after_fail(
    conn: AsyncConnection,
    ctx: StoreContext,
    rows: Sequence[RowMapping],
    reason: FailureReason,
    stranded: list[blockage.Stranding] | None = None,
) -> tuple[list[TaskRow], list[IssueRow]]:
    """Spawn retry children where ``should_retry`` says so; settle the rest. Returns the
    children and the issues that moved.

    No retry is queued for an issue that is blocked now (a blocker added or reopened while
    it ran): it ends failed, and its last blocker's finalize queues it again.

    A child that would collide with a pending task for the same (issue, agent) is skipped
    (ON CONFLICT DO NOTHING): that pending task already covers the work, and failing the
    whole finalize over it would leave the parent stuck in its old state.
    """
    children: list[TaskRow] = []
    settled: list[RowMapping] = []
    for row in rows:
        if should_retry(reason, row["attempt"], row["max_attempts"]) and not await _blocked(
            conn, row
        ):
            stmt = upsert(conn, _T).values(_child_values(ctx, row)).on_conflict_do_nothing()
            child = (await conn.execute(stmt.returning(*_T.c))).mappings().first()
            if child is not None:
                children.append(task_row(child))
                continue
        settled.append(row)
    return children, await settle(conn, ctx, _F, settled, stranded=stranded)


async def _blocked(conn: AsyncConnection, row: RowMapping) -> bool:
    if row["issue_id"] is None:
        return False
    return bool(await blockage.reasons(conn, row["workspace_id"], [row["issue_id"]]))


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


def _ending(
    ctx: StoreContext, result: Mapping[str, Any] | None, session_id: str | None
) -> dict[str, Any]:
    """The columns a run's end writes: when, its result, the agent's session to resume."""
    values: dict[str, Any] = {"finished_at": ctx.now()}
    if result is not None:
        values["result"] = dump_json(result)
    if session_id is not None:
        values["session_id"] = session_id
    return values


async def complete(
    conn: AsyncConnection,
    ctx: StoreContext,
    task_id: str,
    *,
    result: Mapping[str, Any] | None,
    session_id: str | None,
    workspace_id: str | None = None,
) -> TaskChange:
    values = _ending(ctx, result, session_id)
    outcome, row = await finalize(conn, task_id, _DONE, values, workspace_id=workspace_id)
    if row is None:
        return TaskChange(outcome)
    woken: list[TaskRow] = []
    moved = await settle(conn, ctx, _DONE, [row], woken)
    # the agent's answer joins the issue's thread, once: a finalize that is retried or
    # loses a race wrote nothing above and gets here no more (docs/lifecycle.md#comments)
    posted = await comments.post_result(conn, ctx, row, (result or {}).get("content"))
    return TaskChange(
        outcome,
        task_row(row),
        moved,
        comments=[] if posted is None else [posted],
        woken=woken,
    )


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
    values = _ending(ctx, result, session_id) | {"failure_reason": reason.value}
    outcome, row = await finalize(conn, task_id, _F, values, workspace_id=workspace_id)
    if row is None:
        return TaskChange(outcome)
    stranded: list[blockage.Stranding] = []
    children, moved = await after_fail(conn, ctx, [row], reason, stranded)
    return TaskChange(outcome, task_row(row), moved, children, stranded=stranded)


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
    stranded: list[blockage.Stranding] = []
    moved = await settle(conn, ctx, _C, [row], stranded=stranded)
    return TaskChange(outcome, task_row(row), moved, stranded=stranded)


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
            _T.c.status.in_(values_of(ACTIVE)),
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
    conn: AsyncConnection,
    ctx: StoreContext,
    workspace_id: str,
    task_id: str,
    rearmed: list[IssueRow] | None = None,
) -> TaskRow:
    """By hand: a queued child of a failed or cancelled task, even past max_attempts. The
    open dependents of its issue, which the retry re-arms (pending again, no longer
    stranded), are appended to ``rearmed`` when given, as they are now."""
    result = await conn.execute(
        select(_T).where(_T.c.id == task_id, _T.c.workspace_id == workspace_id)
    )
    parent = result.mappings().first()
    if parent is None:
        raise NotFound("task", task_id)
    found = TaskStatus(parent["status"])
    if found not in (_F, _C):
        raise InvalidTransition(resolve_noop(found, _Q))
    # one retry per task: a second would fork two attempts of the same number
    child = (
        await conn.execute(
            select(_T.c.id, _T.c.status)
            .where(_T.c.parent_task_id == task_id)
            .order_by(_T.c.created_at.desc(), _T.c.id.desc())
            .limit(1)
        )
    ).first()
    if child is not None:
        if TaskStatus(child.status) in PENDING:
            raise Conflict(
                f"a pending task already exists for issue {parent['issue_id']} and agent "
                f"{parent['agent_id']}: its retry {child.id} is {child.status}"
            )
        raise AlreadyRetried(task_id, child.id)
    if parent["issue_id"] is not None:  # no wake path bypasses the blocked rule
        blocked = await dependencies.blockage_of(conn, workspace_id, parent["issue_id"])
        if blocked.reason is not None:
            raise Blocked(parent["issue_id"], blocked.reason)
    try:
        inserted = await conn.execute(
            _T.insert().values(_child_values(ctx, parent)).returning(*_T.c)
        )
    except IntegrityError as exc:
        raise Conflict(
            f"a pending task already exists for issue {parent['issue_id']} "
            f"and agent {parent['agent_id']}"
        ) from exc
    if rearmed is not None and parent["issue_id"] is not None:
        rearmed.extend(await blockage.open_dependents(conn, workspace_id, parent["issue_id"]))
    return task_row(inserted.mappings().one())
