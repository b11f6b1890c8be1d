"""Autopilots and their runs: CRUD, and the fire, in one transaction each
(docs/autopilots.md).

A fire inserts its run keyed on (autopilot, planned time) with ON CONFLICT DO NOTHING, so two
daemons that share a database and see the same due autopilot fire it once: the loser inserts
nothing and only moves ``next_tick_at`` to the same value the winner wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import RowMapping, Select, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.core import autopilot as rules
from hangar.core.cron import CronError, Schedule
from hangar.proto.autopilots import AutopilotRow, AutopilotRunRow
from hangar.proto.rows import IssueRow, TaskRow
from hangar.store import agents, issues, tasks, workspaces
from hangar.store.context import StoreContext
from hangar.store.dml import upsert
from hangar.store.errors import Conflict, InvalidValue, NotFound
from hangar.store.schema import agent, agent_task_queue, autopilot, autopilot_run

__all__ = [
    "AutopilotStore",
    "FireOutcome",
    "create",
    "delete",
    "due",
    "earliest_tick",
    "fire",
    "get",
    "list_for_workspace",
    "runs",
    "schedule_of",
    "update_fields",
]

_AP, _RUN, _T = autopilot, autopilot_run, agent_task_queue
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


def schedule_of(cron: str, zone: str) -> Schedule:
    """The parsed schedule, or InvalidValue naming what is wrong."""
    try:
        return Schedule.parse(cron, zone)
    except CronError as exc:
        raise InvalidValue(str(exc)) from None


def _unfinished() -> Any:
    return (
        select(func.count())
        .where(_RUN.c.autopilot_id == _AP.c.id, _RUN.c.completed_at.is_(None))
        .scalar_subquery()
    )


def _rows() -> Select[Any]:
    return (
        select(_AP, agent.c.name.label("agent_name"), _unfinished().label("unfinished_runs"))
        .join(agent, agent.c.id == _AP.c.agent_id)
        .where(_AP.c.deleted_at.is_(None))
    )


def _row(m: RowMapping) -> AutopilotRow:
    return AutopilotRow(
        id=m["id"],
        workspace_id=m["workspace_id"],
        name=m["name"],
        agent_id=m["agent_id"],
        agent_name=m["agent_name"],
        instructions=m["instructions"] or "",
        cron_expr=m["cron_expr"],
        timezone=m["timezone"],
        mode=m["mode"],
        max_concurrent_runs=m["max_concurrent_runs"],
        enabled=bool(m["enabled"]),
        next_tick_at=m["next_tick_at"],
        disabled_reason=m["disabled_reason"],
        unfinished_runs=m["unfinished_runs"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


async def _mapping(conn: AsyncConnection, workspace_id: str, ident: str) -> RowMapping | None:
    """The live autopilot with this id or name in this workspace (an id match wins)."""
    found = list(
        (
            await conn.execute(
                _rows().where(
                    _AP.c.workspace_id == workspace_id, or_(_AP.c.id == ident, _AP.c.name == ident)
                )
            )
        ).mappings()
    )
    if not found:
        return None
    match: RowMapping = next((m for m in found if m["id"] == ident), found[0])
    return match


async def _require(conn: AsyncConnection, workspace_id: str, ident: str) -> RowMapping:
    found = await _mapping(conn, workspace_id, ident)
    if found is None:
        raise NotFound("autopilot", ident)
    return found


async def get(conn: AsyncConnection, workspace_id: str, ident: str) -> AutopilotRow | None:
    found = await _mapping(conn, workspace_id, ident)
    return None if found is None else _row(found)


async def list_for_workspace(conn: AsyncConnection, workspace_id: str) -> list[AutopilotRow]:
    result = await conn.execute(
        _rows().where(_AP.c.workspace_id == workspace_id).order_by(_AP.c.name)
    )
    return [_row(m) for m in result.mappings()]


async def _agent_id(conn: AsyncConnection, workspace_id: str, ident: str) -> str:
    # an agent of another workspace answers like a missing one
    found = await agents.get_mapping(conn, workspace_id, ident)
    if found is None:
        raise NotFound("agent", ident)
    return str(found["id"])


def _name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidValue("autopilot name must not be empty")
    return name


async def create(
    conn: AsyncConnection,
    ctx: StoreContext,
    workspace_id: str,
    *,
    name: str,
    agent_ref: str,
    cron: str,
    timezone: str,
    instructions: str,
    max_concurrent_runs: int,
    mode: str,
    enabled: bool,
) -> AutopilotRow:
    schedule = schedule_of(cron, timezone)
    if max_concurrent_runs < 1:
        raise InvalidValue("max_concurrent_runs must be at least 1")
    now = ctx.now()
    values = {
        "id": ctx.new_id(now),
        "workspace_id": workspace_id,
        "agent_id": await _agent_id(conn, workspace_id, agent_ref),
        "name": _name(name),
        "instructions": instructions,
        "cron_expr": schedule.expr,
        "timezone": schedule.zone,
        "mode": mode,
        "max_concurrent_runs": max_concurrent_runs,
        "enabled": int(enabled),
        "next_tick_at": schedule.next_after(now) if enabled else None,
        "created_at": now,
        "updated_at": now,
    }
    try:
        await conn.execute(_AP.insert().values(values))
    except IntegrityError as exc:
        raise Conflict(f"autopilot {values['name']!r} already exists in this workspace") from exc
    return _row(await _require(conn, workspace_id, str(values["id"])))


async def update_fields(
    conn: AsyncConnection, ctx: StoreContext, workspace_id: str, ident: str, **changes: Any
) -> AutopilotRow:
    """Change the given fields (None = leave alone). A new schedule or zone, or enabling,
    plans the next fire from now; disabling clears it. Enabling clears an auto-pause."""
    current = await _require(conn, workspace_id, ident)
    values: dict[str, Any] = {}
    if changes.get("name") is not None:
        values["name"] = _name(changes["name"])
    if changes.get("agent") is not None:
        values["agent_id"] = await _agent_id(conn, workspace_id, changes["agent"])
    for key in ("instructions", "mode", "max_concurrent_runs"):
        if changes.get(key) is not None:
            values[key] = changes[key]
    cron = changes.get("cron") or current["cron_expr"]
    zone = changes.get("timezone") or current["timezone"]
    schedule = schedule_of(cron, zone)
    values |= {"cron_expr": schedule.expr, "timezone": schedule.zone}
    enabled = bool(current["enabled"]) if changes.get("enabled") is None else changes["enabled"]
    replan = (
        schedule.expr != current["cron_expr"]
        or schedule.zone != current["timezone"]
        or (enabled and not current["enabled"])
    )
    now = ctx.now()
    if not enabled:
        values |= {"enabled": 0, "next_tick_at": None}
    elif replan or current["next_tick_at"] is None:
        values |= {"enabled": 1, "next_tick_at": schedule.next_after(now), "disabled_reason": None}
    values["updated_at"] = now
    try:
        await conn.execute(update(_AP).where(_AP.c.id == current["id"]).values(values))
    except IntegrityError as exc:
        raise Conflict(
            f"autopilot {values.get('name')!r} already exists in this workspace"
        ) from exc
    return _row(await _require(conn, workspace_id, str(current["id"])))


async def delete(
    conn: AsyncConnection, ctx: StoreContext, workspace_id: str, ident: str
) -> tuple[AutopilotRow, int]:
    """Delete: the row stays (its runs point at it) but stops firing and frees its name."""
    current = await _require(conn, workspace_id, ident)
    now = ctx.now()
    await conn.execute(
        update(_AP)
        .where(_AP.c.id == current["id"])
        .values(deleted_at=now, enabled=0, next_tick_at=None, updated_at=now)
    )
    kept = await conn.scalar(
        select(func.count()).select_from(_RUN).where(_RUN.c.autopilot_id == current["id"])
    )
    return _row(current), int(kept or 0)


def _latest_task() -> Any:
    """The run's latest task (a retry is a newer task of the same run)."""
    return (
        select(_T.c.id)
        .where(_T.c.autopilot_run_id == _RUN.c.id)
        .order_by(_T.c.created_at.desc(), _T.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _run_row(m: RowMapping) -> AutopilotRunRow:
    return AutopilotRunRow(
        id=m["id"],
        autopilot_id=m["autopilot_id"],
        planned_at=m["planned_at"],
        started_at=m["started_at"],
        completed_at=m["completed_at"],
        status=m["status"],
        trigger=m["trigger"],
        task_id=m["task_id"],
        task_status=m["task_status"],
        issue_id=m["issue_id"],
    )


async def runs(
    conn: AsyncConnection, workspace_id: str, ident: str, *, limit: int
) -> list[AutopilotRunRow]:
    """Newest first, each with its latest task and that task's status."""
    current = await _require(conn, workspace_id, ident)
    latest = _latest_task().label("task_id")
    inner = (
        select(_RUN, latest)
        .where(_RUN.c.autopilot_id == current["id"])
        .order_by(_RUN.c.started_at.desc(), _RUN.c.id.desc())
        .limit(limit)
        .subquery()
    )
    result = await conn.execute(
        select(inner, _T.c.status.label("task_status"))
        .outerjoin(_T, _T.c.id == inner.c.task_id)
        .order_by(inner.c.started_at.desc(), inner.c.id.desc())
    )
    return [_run_row(m) for m in result.mappings()]


async def earliest_tick(conn: AsyncConnection) -> int | None:
    """The earliest planned fire across every enabled autopilot of every workspace."""
    earliest = await conn.scalar(
        select(func.min(_AP.c.next_tick_at)).where(
            _AP.c.enabled == 1, _AP.c.deleted_at.is_(None), _AP.c.next_tick_at.is_not(None)
        )
    )
    return None if earliest is None else int(earliest)


async def due(conn: AsyncConnection, now_ms: int, *, limit: int = 100) -> list[tuple[str, int]]:
    """(id, next_tick_at) of enabled autopilots whose planned fire has come, oldest first."""
    result = await conn.execute(
        select(_AP.c.id, _AP.c.next_tick_at)
        .where(
            _AP.c.enabled == 1,
            _AP.c.deleted_at.is_(None),
            _AP.c.next_tick_at.is_not(None),
            _AP.c.next_tick_at <= now_ms,
        )
        .order_by(_AP.c.next_tick_at, _AP.c.id)
        .limit(limit)
    )
    return [(r.id, r.next_tick_at) for r in result]


async def _by_id(conn: AsyncConnection, autopilot_id: str) -> RowMapping | None:
    result = await conn.execute(_rows().where(_AP.c.id == autopilot_id))
    found: RowMapping | None = result.mappings().first()
    return found


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
    current = await _by_id(conn, autopilot_id)
    if current is None:
        return FireOutcome("gone")
    now = ctx.now()
    planned_at = now
    if trigger == "schedule":
        if not current["enabled"] or current["next_tick_at"] != expected_tick:
            return FireOutcome("gone", _row(current))  # disabled, edited or fired meanwhile
        try:
            plan = rules.plan_fire(Schedule.parse(current["cron_expr"], current["timezone"]), now)
        except CronError as exc:
            # a schedule that stopped parsing (a zone removed from tzdata) stops scheduling
            await conn.execute(
                update(_AP).where(_AP.c.id == autopilot_id).values(next_tick_at=None)
            )
            return FireOutcome("gone", _row(current), reason=str(exc))
        # only the scheduler that still sees the tick it read moves it
        await conn.execute(
            update(_AP)
            .where(_AP.c.id == autopilot_id, _AP.c.next_tick_at == expected_tick)
            .values(next_tick_at=plan.next_tick_at)
        )
        current = await _by_id(conn, autopilot_id) or current
        if plan.fire_at is None:
            limit_min = rules.LATE_LIMIT_MS // 60_000
            reason = f"{plan.late_by_ms // 1000} s late (the limit is {limit_min} min)"
            return FireOutcome("late", _row(current), reason=reason)
        planned_at = plan.fire_at
    pause = await _pause_reason(conn, autopilot_id, now)
    if pause is not None:
        await conn.execute(
            update(_AP)
            .where(_AP.c.id == autopilot_id)
            .values(enabled=0, next_tick_at=None, disabled_reason=pause, updated_at=now)
        )
        paused = await _by_id(conn, autopilot_id)
        assert paused is not None
        return FireOutcome("paused", _row(paused), reason=pause, planned_at=planned_at)
    skip = rules.skip_reason(current["unfinished_runs"], current["max_concurrent_runs"])
    if skip is not None:
        return FireOutcome("skipped", _row(current), reason=skip, planned_at=planned_at)
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
        return FireOutcome("duplicate", _row(current), planned_at=planned_at)
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
    after = await _by_id(conn, autopilot_id)
    return FireOutcome(
        "running",
        _row(after or current),
        run=run,
        task=task,
        issue=issue,
        planned_at=planned_at,
    )


Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


class AutopilotStore:
    """``Store.autopilots``: each call one read or one write transaction."""

    def __init__(self, read: Connect, write: Connect, ctx: StoreContext) -> None:
        self._read = read
        self._write = write
        self._ctx = ctx

    async def create(self, workspace_id: str, **fields: Any) -> AutopilotRow:
        async with self._write() as conn:
            return await create(conn, self._ctx, workspace_id, **fields)

    async def update(self, workspace_id: str, ident: str, **changes: Any) -> AutopilotRow:
        async with self._write() as conn:
            return await update_fields(conn, self._ctx, workspace_id, ident, **changes)

    async def delete(self, workspace_id: str, ident: str) -> tuple[AutopilotRow, int]:
        async with self._write() as conn:
            return await delete(conn, self._ctx, workspace_id, ident)

    async def get(self, workspace_id: str, ident: str) -> AutopilotRow | None:
        async with self._read() as conn:
            return await get(conn, workspace_id, ident)

    async def in_workspace(self, workspace_id: str) -> list[AutopilotRow]:
        async with self._read() as conn:
            return await list_for_workspace(conn, workspace_id)

    async def runs(self, workspace_id: str, ident: str, *, limit: int) -> list[AutopilotRunRow]:
        async with self._read() as conn:
            return await runs(conn, workspace_id, ident, limit=limit)

    async def earliest_tick(self) -> int | None:
        async with self._read() as conn:
            return await earliest_tick(conn)

    async def due(self, now_ms: int) -> list[tuple[str, int]]:
        async with self._read() as conn:
            return await due(conn, now_ms)

    async def fire(
        self, autopilot_id: str, *, expected_tick: int | None, trigger: str = "schedule"
    ) -> FireOutcome:
        async with self._write() as conn:
            return await fire(
                conn, self._ctx, autopilot_id, expected_tick=expected_tick, trigger=trigger
            )

    async def owner_of_run(self, run_id: str) -> tuple[str, str, str] | None:
        """(id, name, instructions) of the autopilot a run belongs to, deleted or not: the
        prompt of a run-mode task, and the names its events carry."""
        async with self._read() as conn:
            found = (
                await conn.execute(
                    select(_AP.c.id, _AP.c.name, _AP.c.instructions)
                    .join(_RUN, _RUN.c.autopilot_id == _AP.c.id)
                    .where(_RUN.c.id == run_id)
                )
            ).first()
        return None if found is None else (found.id, found.name, found.instructions or "")
