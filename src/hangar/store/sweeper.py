"""TTL sweeps and boot recovery (docs/lifecycle.md#sweeper): bulk, capped, idempotent moves.

Each band is one UPDATE that filters on its source status (so terminal rows are never
touched and a re-run is a no-op) over at most ``batch`` rows picked by a subquery.
PostgreSQL sweepers skip rows a finalize holds locked; the next pass gets them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.core.durations import format_duration
from hangar.core.failures import FailureReason
from hangar.core.fsm import TaskStatus
from hangar.core.result import TaskResult
from hangar.proto.rows import IssueRow, TaskRow
from hangar.store import finalize, tasks
from hangar.store.blockage import Stranding
from hangar.store.context import StoreContext
from hangar.store.convert import dump_json, task_row
from hangar.store.schema import agent_runtime, agent_task_queue

_T = agent_task_queue
#: The picker's view of the queue; band expressions are written against it.
_S = _T.alias("s")
_Q, _D, _R, _F, _C = (
    TaskStatus.QUEUED,
    TaskStatus.DISPATCHED,
    TaskStatus.RUNNING,
    TaskStatus.FAILED,
    TaskStatus.CANCELLED,
)

DEFAULT_BATCH = 500
QUEUED_TTL_MS = 7_200_000
RECLAIM_WINDOW_MS = 90_000
DISPATCHED_TTL_MS = 300_000
RUNNING_TTL_MS = 9_000_000
RUNTIME_OFFLINE_MS = 150_000


@dataclass(frozen=True)
class SweepReport:
    """What one sweep pass moved, per band (rows as they are after the move)."""

    queued_timed_out: list[TaskRow] = field(default_factory=list)
    dispatched_requeued: list[TaskRow] = field(default_factory=list)
    dispatched_timed_out: list[TaskRow] = field(default_factory=list)
    running_timed_out: list[TaskRow] = field(default_factory=list)
    #: cancel requested, but the daemon that ran it is gone: nobody else will finalize it
    cancelled: list[TaskRow] = field(default_factory=list)
    children: list[TaskRow] = field(default_factory=list)  # retries (none for timeouts today)
    issues: list[IssueRow] = field(default_factory=list)  # issues whose state moved
    #: open dependents left blocked by a blocker that timed out or was cancelled
    stranded: list[Stranding] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        """Counts per band, for logs."""
        return {
            "queued_timed_out": len(self.queued_timed_out),
            "dispatched_requeued": len(self.dispatched_requeued),
            "dispatched_timed_out": len(self.dispatched_timed_out),
            "running_timed_out": len(self.running_timed_out),
            "cancelled": len(self.cancelled),
        }

    @property
    def total(self) -> int:
        return sum(self.as_dict().values())

    @property
    def failed(self) -> list[TaskRow]:
        return self.queued_timed_out + self.dispatched_timed_out + self.running_timed_out


@dataclass(frozen=True)
class RecoveryReport:
    """Boot-time recovery of this daemon's runtimes."""

    requeued: list[TaskRow] = field(default_factory=list)  # dispatched → queued
    failed: list[TaskRow] = field(default_factory=list)  # running → failed runtime_recovery
    cancelled: list[TaskRow] = field(default_factory=list)  # a cancel was asked of the dead run
    children: list[TaskRow] = field(default_factory=list)  # the retry children
    issues: list[IssueRow] = field(default_factory=list)  # issues whose state moved
    #: open dependents left blocked by a blocker that failed for good or was cancelled
    stranded: list[Stranding] = field(default_factory=list)


async def _move(
    conn: AsyncConnection,
    source: TaskStatus,
    target: TaskStatus,
    band: ColumnElement[bool],
    values: Mapping[str, Any],
    batch: int | None,
) -> list[RowMapping]:
    """Move up to ``batch`` rows in ``source`` matching ``band`` (written over ``_S``).

    The pick is a MATERIALIZED CTE, evaluated once. As ``IN (subquery)`` PostgreSQL may
    rescan it per outer row; a rescan's SKIP LOCKED then passes over the rows this very
    UPDATE already changed and picks more, so the batch cap would leak.
    """
    pick = select(_S.c.id).where(_S.c.status == source.value, band.self_group())
    pick = pick.order_by(_S.c.created_at, _S.c.id)
    if batch is not None:
        pick = pick.limit(batch)
    picked = pick.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
    stmt = (
        tasks.transition(target, {source})
        .where(_T.c.id.in_(select(picked.c.id)))
        .values(**values)
        .returning(*_T.c)
    )
    return list((await conn.execute(stmt)).mappings())


async def sweep(
    conn: AsyncConnection,
    ctx: StoreContext,
    *,
    batch: int = DEFAULT_BATCH,
    queued_ttl_ms: int = QUEUED_TTL_MS,
    reclaim_window_ms: int = RECLAIM_WINDOW_MS,
    dispatched_ttl_ms: int = DISPATCHED_TTL_MS,
    running_ttl_ms: int = RUNNING_TTL_MS,
    runtime_offline_ms: int = RUNTIME_OFFLINE_MS,
) -> SweepReport:
    now = ctx.now()
    timeout = {"failure_reason": FailureReason.TIMEOUT.value, "finished_at": now}
    s = _S
    waited = format_duration(queued_ttl_ms)

    # Dispatched and running rows belong to a daemon. While its runtime is alive that daemon
    # supervises them itself (setup deadline, watchdogs); a sweep from here would requeue a
    # task it is still provisioning and so run it twice. Only orphans are swept.
    rt = agent_runtime
    alive = exists().where(
        rt.c.id == s.c.runtime_id,
        rt.c.status != "offline",
        rt.c.last_seen_at >= now - runtime_offline_ms,
    )
    stranded: list[Stranding] = []
    cancelled, reopened = await _cancel_requested(conn, ctx, ~alive, batch, stranded)
    queued = await _move(
        conn,
        _Q,
        _F,
        s.c.created_at < now - queued_ttl_ms,
        timeout | _why(f"waited over {waited} in the queue and no daemon claimed it"),
        batch,
    )
    dispatched_dead = await _move(
        conn,
        _D,
        _F,
        and_(s.c.dispatched_at < now - dispatched_ttl_ms, ~alive),
        timeout | _why("the daemon that claimed it went away before starting it"),
        batch,
    )
    # Past the reclaim window but within the TTL and never started: give it back.
    stale = or_(
        s.c.dispatched_at.is_(None),
        and_(
            s.c.dispatched_at < now - reclaim_window_ms,
            s.c.dispatched_at >= now - dispatched_ttl_ms,
        ),
    )
    requeued = await _move(
        conn, _D, _Q, and_(s.c.started_at.is_(None), stale, ~alive), {"dispatched_at": None}, batch
    )
    # A long run is only killed when nobody is left to finish it: its runtime is gone.
    running = await _move(
        conn,
        _R,
        _F,
        and_(s.c.started_at < now - running_ttl_ms, ~alive),
        timeout | _why("the daemon running it went away and the run outlived its time limit"),
        batch,
    )

    failed = queued + dispatched_dead + running
    children, moved = await finalize.after_fail(conn, ctx, failed, FailureReason.TIMEOUT, stranded)
    return SweepReport(
        queued_timed_out=[task_row(r) for r in queued],
        dispatched_requeued=[task_row(r) for r in requeued],
        dispatched_timed_out=[task_row(r) for r in dispatched_dead],
        running_timed_out=[task_row(r) for r in running],
        cancelled=[task_row(r) for r in cancelled],
        children=children,
        issues=reopened + moved,
        stranded=stranded,
    )


async def _cancel_requested(
    conn: AsyncConnection,
    ctx: StoreContext,
    band: ColumnElement[bool],
    batch: int | None,
    stranded: list[Stranding],
) -> tuple[list[RowMapping], list[IssueRow]]:
    """Dispatched or running rows with a cancel request in ``band`` → cancelled."""
    values = {"finished_at": ctx.now(), "failure_reason": FailureReason.USER_CANCEL.value}
    values |= _why("cancelled; the daemon running it had gone away, so it was not stopped there")
    asked = and_(_S.c.cancel_requested_at.is_not(None), band.self_group())
    rows = []
    for source in (_D, _R):
        rows += await _move(conn, source, _C, asked, values, batch)
    return rows, await finalize.settle(conn, ctx, _C, rows, stranded=stranded)


async def recover(
    conn: AsyncConnection, ctx: StoreContext, runtime_ids: Sequence[str]
) -> RecoveryReport:
    """At daemon boot: this daemon's rows with a cancel request are cancelled, its other
    dispatched rows go back to the queue and its running rows fail with
    ``runtime_recovery`` (retried while attempts remain)."""
    if not runtime_ids:
        return RecoveryReport()
    mine = _S.c.runtime_id.in_(sorted(set(runtime_ids)))
    stranded: list[Stranding] = []
    cancelled, reopened = await _cancel_requested(conn, ctx, mine, None, stranded)
    requeued = await _move(conn, _D, _Q, mine, {"dispatched_at": None}, None)
    values = {
        "failure_reason": FailureReason.RUNTIME_RECOVERY.value,
        "finished_at": ctx.now(),
    } | _why("the daemon stopped during the run; retried while attempts remain")
    failed = await _move(conn, _R, _F, mine, values, None)
    children, moved = await finalize.after_fail(
        conn, ctx, failed, FailureReason.RUNTIME_RECOVERY, stranded
    )
    return RecoveryReport(
        requeued=[task_row(r) for r in requeued],
        failed=[task_row(r) for r in failed],
        cancelled=[task_row(r) for r in cancelled],
        children=children,
        issues=reopened + moved,
        stranded=stranded,
    )


def _why(error: str) -> dict[str, str]:
    """The result a swept row carries, so it says why it ended like any other failure."""
    return {"result": dump_json(TaskResult(content="", error=error).to_dict())}
