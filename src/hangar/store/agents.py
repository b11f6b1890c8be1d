"""Agents: a named, configured provider bound to one runtime in one workspace."""

from __future__ import annotations

from sqlalchemy import RowMapping, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.proto.rows import AgentRow
from hangar.store import runtimes, workspaces
from hangar.store.context import StoreContext
from hangar.store.convert import agent_row, dump_json
from hangar.store.errors import Conflict, InvalidValue, NotFound
from hangar.store.schema import agent

_A = agent


async def create(
    conn: AsyncConnection,
    ctx: StoreContext,
    workspace_id: str,
    *,
    name: str,
    provider: str,
    runtime_id: str,
    command: list[str] | None,
    model: str | None,
    instructions: str,
    max_concurrent_tasks: int,
    repo_path: str | None,
    max_runtime_ms: int | None,
    inactivity_timeout_ms: int | None,
) -> AgentRow:
    name = name.strip()
    if not name:
        raise InvalidValue("agent name must not be empty")
    if max_concurrent_tasks < 1:
        raise InvalidValue("max_concurrent_tasks must be at least 1")
    if command is not None and not all(isinstance(arg, str) for arg in command):
        raise InvalidValue("command must be a list of strings")
    # A runtime of another workspace is as good as missing.
    if await runtimes.get(conn, workspace_id, runtime_id) is None:
        raise NotFound("runtime", runtime_id)
    owner = await workspaces.owner_id(conn, ctx, workspace_id)
    now = ctx.now()
    values = {
        "id": ctx.new_id(now),
        "workspace_id": workspace_id,
        "name": name,
        "runtime_id": runtime_id,
        "instructions": instructions,
        "visibility": "workspace",
        "owner_id": owner,
        "max_concurrent_tasks": max_concurrent_tasks,
        "provider": provider,
        "command": None if command is None else dump_json(command),
        "model": model,
        "repo_path": repo_path,
        "max_runtime_ms": max_runtime_ms,
        "inactivity_timeout_ms": inactivity_timeout_ms,
        "created_at": now,
    }
    try:
        result = await conn.execute(_A.insert().values(values).returning(*_A.c))
    except IntegrityError as exc:
        raise Conflict(f"agent {name!r} already exists in this workspace") from exc
    return agent_row(result.mappings().one())


async def get_mapping(conn: AsyncConnection, workspace_id: str, ident: str) -> RowMapping | None:
    """The agent with this id or name in this workspace (an id match wins)."""
    result = await conn.execute(
        select(_A).where(
            _A.c.workspace_id == workspace_id, or_(_A.c.id == ident, _A.c.name == ident)
        )
    )
    rows = list(result.mappings())
    if not rows:
        return None
    return next((m for m in rows if m["id"] == ident), rows[0])


async def get(conn: AsyncConnection, workspace_id: str, ident: str) -> AgentRow | None:
    found = await get_mapping(conn, workspace_id, ident)
    return None if found is None else agent_row(found)


async def require(conn: AsyncConnection, workspace_id: str, agent_id: str) -> RowMapping:
    """The agent by id (not name) in this workspace, or NotFound."""
    result = await conn.execute(
        select(_A).where(_A.c.workspace_id == workspace_id, _A.c.id == agent_id)
    )
    found = result.mappings().first()
    if found is None:
        raise NotFound("agent", agent_id)
    return found


async def list_for_workspace(conn: AsyncConnection, workspace_id: str) -> list[AgentRow]:
    result = await conn.execute(
        select(_A).where(_A.c.workspace_id == workspace_id).order_by(_A.c.name)
    )
    return [agent_row(m) for m in result.mappings()]
