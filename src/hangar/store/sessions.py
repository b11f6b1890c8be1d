"""Interactive sessions: one row per worktree + tmux session, scoped to a workspace."""

from __future__ import annotations

from typing import Any

from sqlalchemy import RowMapping, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.proto.rows import SessionRow
from hangar.store.context import StoreContext
from hangar.store.convert import dump_json, load_json
from hangar.store.errors import Conflict, InvalidValue, NotFound
from hangar.store.schema import SESSION_STATUSES, agent_session

_S = agent_session

#: what a by-ref lookup matches: the id, the exact name, or the short id (last 8 chars)
_SHORT_ID_LEN = 8


def session_row(m: RowMapping) -> SessionRow:
    return SessionRow(
        id=m["id"],
        workspace_id=m["workspace_id"],
        name=m["name"],
        status=m["status"],
        repo_path=m["repo_path"],
        worktree_path=m["worktree_path"],
        branch=m["branch"],
        owns_branch=bool(m["owns_branch"]),
        base_branch=m["base_branch"],
        tmux_session=m["tmux_session"],
        pane_id=m["pane_id"],
        command=load_json(m["command"]),
        agent=m["agent"],
        agent_session_id=m["agent_session_id"],
        meta=load_json(m["meta"]) or {},
        idle_threshold_ms=m["idle_threshold_ms"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        archived_at=m["archived_at"],
    )


async def create(
    conn: AsyncConnection,
    ctx: StoreContext,
    workspace_id: str,
    *,
    name: str,
    repo_path: str,
    worktree_path: str,
    branch: str,
    base_branch: str | None,
    tmux_session: str,
    command: list[str],
    agent_session_id: str | None,
    meta: dict[str, str],
    idle_threshold_ms: int,
    status: str = "active",
    agent: str | None = None,
) -> SessionRow:
    now = ctx.now()
    values = {
        "id": ctx.new_id(now),
        "workspace_id": workspace_id,
        "name": name,
        "status": status,
        "repo_path": repo_path,
        "worktree_path": worktree_path,
        "branch": branch,
        "base_branch": base_branch,
        "tmux_session": tmux_session,
        "command": dump_json(command),
        "agent": agent,
        "agent_session_id": agent_session_id,
        "meta": dump_json(meta),
        "idle_threshold_ms": idle_threshold_ms,
        "last_hash": None,
        "last_changed_at": now,
        "created_at": now,
        "updated_at": now,
        "archived_at": None,
    }
    try:
        result = await conn.execute(_S.insert().values(values).returning(*_S.c))
    except IntegrityError as exc:
        raise Conflict(
            f"session {name!r}, tmux session {tmux_session!r} or worktree {worktree_path} "
            "is already taken"
        ) from exc
    return session_row(result.mappings().one())


async def holder(
    conn: AsyncConnection, *, tmux_session: str, worktree_path: str
) -> SessionRow | None:
    """The session of any workspace that holds this tmux name or worktree path."""
    result = await conn.execute(
        select(_S).where(
            or_(_S.c.tmux_session == tmux_session, _S.c.worktree_path == worktree_path)
        )
    )
    found = result.mappings().first()
    return None if found is None else session_row(found)


async def find(conn: AsyncConnection, workspace_id: str, ref: str) -> RowMapping | None:
    """The session whose id, exact name or short id is ``ref`` (in that order of preference)."""
    result = await conn.execute(
        select(_S).where(_S.c.workspace_id == workspace_id, or_(_S.c.id == ref, _S.c.name == ref))
    )
    rows = list(result.mappings())
    if rows:
        return next((m for m in rows if m["id"] == ref), rows[0])
    if len(ref) == _SHORT_ID_LEN:
        result = await conn.execute(
            select(_S).where(
                _S.c.workspace_id == workspace_id,
                func.lower(_S.c.id).endswith(ref.lower(), autoescape=True),
            )
        )
        rows = list(result.mappings())
        if len(rows) == 1:
            return rows[0]
    return None


async def require(conn: AsyncConnection, workspace_id: str, ref: str) -> RowMapping:
    found = await find(conn, workspace_id, ref)
    if found is None:
        raise NotFound("session", ref)
    return found


async def list_for_workspace(
    conn: AsyncConnection,
    workspace_id: str,
    *,
    include_archived: bool,
    repo_path: str | None = None,
) -> list[SessionRow]:
    query = select(_S).where(_S.c.workspace_id == workspace_id)
    if repo_path is not None:
        query = query.where(_S.c.repo_path == repo_path)
    if not include_archived:
        query = query.where(_S.c.status == "active")
    result = await conn.execute(query.order_by(_S.c.created_at, _S.c.id))
    return [session_row(m) for m in result.mappings()]


async def list_in_status(conn: AsyncConnection, status: str) -> list[SessionRow]:
    """Every session of every workspace in ``status``: what startup reconciliation checks."""
    result = await conn.execute(select(_S).where(_S.c.status == status).order_by(_S.c.id))
    return [session_row(m) for m in result.mappings()]


async def tmux_names(conn: AsyncConnection) -> set[str]:
    result = await conn.execute(select(_S.c.tmux_session).where(_S.c.status != "archived"))
    return {name for (name,) in result}


async def count_live(conn: AsyncConnection, workspace_id: str, repo_path: str) -> int:
    """Sessions of one repository that count against the cap: active, or on their way."""
    result = await conn.execute(
        select(func.count())
        .select_from(_S)
        .where(
            _S.c.workspace_id == workspace_id,
            _S.c.repo_path == repo_path,
            _S.c.status.in_(("active", "creating", "resuming")),
        )
    )
    return int(result.scalar_one())


async def set_status_if(
    conn: AsyncConnection,
    ctx: StoreContext,
    session_id: str,
    *,
    expected: str,
    status: str,
) -> bool:
    """Move one session from ``expected`` to ``status``; False when it was no longer there
    (a caller holding an old row must not overwrite an archive or resurrect a delete)."""
    result = await conn.execute(
        update(_S)
        .where(_S.c.id == session_id, _S.c.status == expected)
        .values(status=status, updated_at=ctx.now())
    )
    return bool(result.rowcount)


async def patch(
    conn: AsyncConnection, ctx: StoreContext, workspace_id: str, session_id: str, **changes: Any
) -> SessionRow:
    """Update some columns of one session; ``status`` is checked, JSON columns encoded."""
    status = changes.get("status")
    if status is not None and status not in SESSION_STATUSES:
        raise InvalidValue(f"unknown session status {status!r}")
    if "command" in changes:
        changes["command"] = dump_json(changes["command"])
    if "meta" in changes:
        changes["meta"] = dump_json(changes["meta"])
    changes["updated_at"] = ctx.now()
    result = await conn.execute(
        update(_S)
        .where(_S.c.workspace_id == workspace_id, _S.c.id == session_id)
        .values(changes)
        .returning(*_S.c)
    )
    found = result.mappings().first()
    if found is None:
        raise NotFound("session", session_id)
    return session_row(found)


async def record_screen(
    conn: AsyncConnection, session_id: str, *, last_hash: str, last_changed_at: int
) -> None:
    """Idle tracking: called when the screen's hash changed or input was sent, never on
    an unchanged poll, so polling stays cheap."""
    await conn.execute(
        update(_S)
        .where(_S.c.id == session_id)
        .values(last_hash=last_hash, last_changed_at=last_changed_at)
    )


async def delete(conn: AsyncConnection, workspace_id: str, session_id: str) -> None:
    result = await conn.execute(
        _S.delete().where(_S.c.workspace_id == workspace_id, _S.c.id == session_id)
    )
    if result.rowcount == 0:
        raise NotFound("session", session_id)
