"""Autopilots and their runs: rows, CRUD and the scheduler's queries (docs/autopilots.md).
The fire is ``store/autopilot_fire.py``; ``store/autopilot_store.py`` is the facade."""

from __future__ import annotations

from typing import Any

from sqlalchemy import RowMapping, Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.core.cron import CronError, Schedule
from hangar.proto.autopilots import AutopilotRow, AutopilotRunRow
from hangar.store import agents
from hangar.store.context import StoreContext
from hangar.store.errors import Conflict, InvalidValue, NotFound
from hangar.store.schema import agent, agent_task_queue, autopilot, autopilot_run

__all__ = [
    "by_id",
    "create",
    "delete",
    "due",
    "earliest_tick",
    "get",
    "list_for_workspace",
    "row_of",
    "runs",
    "schedule_of",
    "update_fields",
]

_AP, _RUN, _T = autopilot, autopilot_run, agent_task_queue
_FINISHED = ("completed", "failed", "cancelled")


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


def row_of(m: RowMapping) -> AutopilotRow:
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
    return None if found is None else row_of(found)


async def list_for_workspace(conn: AsyncConnection, workspace_id: str) -> list[AutopilotRow]:
    result = await conn.execute(
        _rows().where(_AP.c.workspace_id == workspace_id).order_by(_AP.c.name)
    )
    return [row_of(m) for m in result.mappings()]


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
    return row_of(await _require(conn, workspace_id, str(values["id"])))


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
    return row_of(await _require(conn, workspace_id, str(current["id"])))


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
    return row_of(current), int(kept or 0)


def _latest_task() -> Any:
    """The run's latest task (a retry is a newer task of the same run)."""
    return (
        select(_T.c.id)
        .where(_T.c.autopilot_run_id == _RUN.c.id)
        .order_by(_T.c.created_at.desc(), _T.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _runrow_of(m: RowMapping) -> AutopilotRunRow:
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
    return [_runrow_of(m) for m in result.mappings()]


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


async def by_id(conn: AsyncConnection, autopilot_id: str) -> RowMapping | None:
    result = await conn.execute(_rows().where(_AP.c.id == autopilot_id))
    found: RowMapping | None = result.mappings().first()
    return found
