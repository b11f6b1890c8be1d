"""The fire of an autopilot, in one transaction (docs/autopilots.md#a-fire).

A fire inserts its run keyed on (autopilot, planned time) with ON CONFLICT DO NOTHING, so two
daemons that share a database and see the same due autopilot fire it once: the loser inserts
nothing and only moves ``next_tick_at`` to the same value the winner wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.core import autopilot as rules
from hangar.core.cron import CronError, Schedule
from hangar.proto.autopilots import AutopilotRow, AutopilotRunRow
from hangar.proto.rows import IssueRow, TaskRow
from hangar.store import agents, issues, tasks, workspaces
from hangar.store.autopilots import by_id, row_of
from hangar.store.context import StoreContext
from hangar.store.dml import upsert
from hangar.store.schema import autopilot, autopilot_run

__all__ = ["FireOutcome", "fire"]

_AP, _RUN = autopilot, autopilot_run
_FINISHED = ("completed", "failed", "cancelled")


@dataclass(frozen=True)
class FireOutcome:
    """What a fire did. ``status``: ``running`` (a run and its task were written), ``skipped``
    (the cap of unfinished runs was reached: nothing written), ``late`` (too late to run;
    only rescheduled), ``duplicate`` (another scheduler fired this planned time), ``paused``
    (the failure rule disabled it), or ``gone`` (disabled, deleted or moved meanwhile)."""

    status: str
    autopilot: AutopilotRow | None = None
    run: AutopilotRunRow | None = None
    task: TaskRow | None = None
    issue: IssueRow | None = None
    reason: str | None = None
    planned_at: int | None = None


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


async def _pause_reason(conn: AsyncConnection, autopilot_id: str, now_ms: int) -> str | None:
    since = now_ms - rules.AUTO_PAUSE_WINDOW_MS
    failed = case((_RUN.c.status == "failed", 1), else_=0)
    counts = (
        await conn.execute(
            select(func.count(), func.coalesce(func.sum(failed), 0)).where(
                _RUN.c.autopilot_id == autopilot_id,
                _RUN.c.status.in_(_FINISHED),
                _RUN.c.completed_at >= since,
            )
        )
    ).one()
    return rules.auto_pause_reason(int(counts[0]), int(counts[1]))


async def fire(
    conn: AsyncConnection,
    ctx: StoreContext,
    autopilot_id: str,
    *,
    expected_tick: int | None,
    trigger: str = "schedule",
) -> FireOutcome:
    """Fire one autopilot, in the caller's transaction.

    ``trigger="schedule"``: the fire the scheduler found due with ``next_tick_at ==
    expected_tick``; the plan (collapse, lateness) comes from ``core.autopilot`` and the
    next tick is written. ``trigger="manual"``: a run now, through the same skip rule and
    pause rule, leaving the schedule alone.
    """
    current = await by_id(conn, autopilot_id)
    if current is None:
        return FireOutcome("gone")
    now = ctx.now()
    planned_at = now
    if trigger == "schedule":
        if not current["enabled"] or current["next_tick_at"] != expected_tick:
            return FireOutcome("gone", row_of(current))  # disabled, edited or fired meanwhile
        try:
            plan = rules.plan_fire(Schedule.parse(current["cron_expr"], current["timezone"]), now)
        except CronError as exc:
            # a schedule that stopped parsing (a zone removed from tzdata) stops scheduling
            await conn.execute(
                update(_AP).where(_AP.c.id == autopilot_id).values(next_tick_at=None)
            )
            return FireOutcome("gone", row_of(current), reason=str(exc))
        # only the scheduler that still sees the tick it read moves it
        await conn.execute(
            update(_AP)
            .where(_AP.c.id == autopilot_id, _AP.c.next_tick_at == expected_tick)
            .values(next_tick_at=plan.next_tick_at)
        )
        current = await by_id(conn, autopilot_id) or current
        if plan.fire_at is None:
            limit_min = rules.LATE_LIMIT_MS // 60_000
            reason = f"{plan.late_by_ms // 1000} s late (the limit is {limit_min} min)"
            return FireOutcome("late", row_of(current), reason=reason)
        planned_at = plan.fire_at
    pause = await _pause_reason(conn, autopilot_id, now)
    if pause is not None:
        await conn.execute(
            update(_AP)
            .where(_AP.c.id == autopilot_id)
            .values(enabled=0, next_tick_at=None, disabled_reason=pause, updated_at=now)
        )
        paused = await by_id(conn, autopilot_id)
        assert paused is not None
        return FireOutcome("paused", row_of(paused), reason=pause, planned_at=planned_at)
    skip = rules.skip_reason(current["unfinished_runs"], current["max_concurrent_runs"])
    if skip is not None:
        return FireOutcome("skipped", row_of(current), reason=skip, planned_at=planned_at)
    run_id = ctx.new_id(now)
    inserted = await conn.execute(
        upsert(conn, _RUN)
        .values(
            id=run_id,
            autopilot_id=autopilot_id,
            started_at=now,
            status="running",
            planned_at=planned_at,
            trigger=trigger,
        )
        .on_conflict_do_nothing()
        .returning(_RUN.c.id)
    )
    if inserted.first() is None:
        return FireOutcome("duplicate", row_of(current), planned_at=planned_at)
    issue = None
    if current["mode"] == "issue":
        # filed by the workspace's owner (who made the autopilot), assigned to its agent
        issue, task = await issues.create(
            conn,
            ctx,
            current["workspace_id"],
            title=f"{current['name']}: run planned for {_utc(planned_at)}",
            description=current["instructions"],
            priority=0,
            repo_path=None,
            creator=f"member:{await workspaces.owner_id(conn, ctx, current['workspace_id'])}",
            assign_agent=current["agent_id"],
            autopilot_run_id=run_id,
        )
        assert task is not None
        await conn.execute(update(_RUN).where(_RUN.c.id == run_id).values(issue_id=issue.id))
    else:
        assignee = await agents.require(conn, current["workspace_id"], current["agent_id"])
        task = await tasks.insert_queued(
            conn, ctx, assignee, issue_id=None, priority=0, autopilot_run_id=run_id
        )
    run = AutopilotRunRow(
        id=run_id,
        autopilot_id=autopilot_id,
        planned_at=planned_at,
        started_at=now,
        status="running",
        trigger=trigger,
        task_id=task.id,
        task_status=task.status,
        issue_id=None if issue is None else issue.id,
    )
    after = await by_id(conn, autopilot_id)
    return FireOutcome(
        "running",
        row_of(after or current),
        run=run,
        task=task,
        issue=issue,
        planned_at=planned_at,
    )
