"""Workspaces (the tenant), the local owner user, and the default-workspace bootstrap."""

from __future__ import annotations

from sqlalchemy import RowMapping, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.proto.rows import WorkspaceRow
from hangar.store import settings
from hangar.store.context import StoreContext
from hangar.store.convert import workspace_row
from hangar.store.dml import upsert
from hangar.store.errors import Conflict, InvalidValue, NotFound
from hangar.store.schema import member, user, workspace

DEFAULT_SLUG = "default"
DEFAULT_NAME = "Default Workspace"
#: The one human of a single-user install; owns agents in every workspace.
LOCAL_OWNER_EMAIL = "owner@localhost"


async def _by_id(conn: AsyncConnection, workspace_id: str) -> RowMapping | None:
    result = await conn.execute(select(workspace).where(workspace.c.id == workspace_id))
    return result.mappings().first()


async def exists(conn: AsyncConnection, workspace_id: str) -> bool:
    return await _by_id(conn, workspace_id) is not None


async def require(conn: AsyncConnection, workspace_id: str) -> None:
    if not await exists(conn, workspace_id):
        raise NotFound("workspace", workspace_id)


async def create(conn: AsyncConnection, ctx: StoreContext, slug: str, name: str) -> WorkspaceRow:
    slug, name = slug.strip(), name.strip()
    if not slug:
        raise InvalidValue("workspace slug must not be empty")
    now = ctx.now()
    values = {"id": ctx.new_id(now), "slug": slug, "name": name or slug, "created_at": now}
    try:
        row = await conn.execute(workspace.insert().values(values).returning(*workspace.c))
    except IntegrityError as exc:
        raise Conflict(f"workspace slug {slug!r} already exists") from exc
    default_id = await settings.get(conn, settings.DEFAULT_WORKSPACE_KEY)
    return workspace_row(row.mappings().one(), default_id=default_id)


async def list_all(conn: AsyncConnection) -> list[WorkspaceRow]:
    default_id = await settings.get(conn, settings.DEFAULT_WORKSPACE_KEY)
    result = await conn.execute(select(workspace).order_by(workspace.c.created_at, workspace.c.id))
    return [workspace_row(m, default_id=default_id) for m in result.mappings()]


async def resolve(conn: AsyncConnection, ident: str) -> WorkspaceRow | None:
    """A workspace by id or slug (an id match wins)."""
    result = await conn.execute(
        select(workspace).where(or_(workspace.c.id == ident, workspace.c.slug == ident))
    )
    rows = list(result.mappings())
    if not rows:
        return None
    chosen = next((m for m in rows if m["id"] == ident), rows[0])
    default_id = await settings.get(conn, settings.DEFAULT_WORKSPACE_KEY)
    return workspace_row(chosen, default_id=default_id)


async def current_default(conn: AsyncConnection) -> WorkspaceRow | None:
    """The default workspace if it is set up already (read-only fast path)."""
    default_id = await settings.get(conn, settings.DEFAULT_WORKSPACE_KEY)
    if default_id is None:
        return None
    found = await _by_id(conn, default_id)
    return None if found is None else workspace_row(found, default_id=default_id)


async def local_owner_id(conn: AsyncConnection, ctx: StoreContext) -> str:
    """The local owner user, created on first use (race-safe: ON CONFLICT on the email)."""
    now = ctx.now()
    stmt = upsert(conn, user).values(id=ctx.new_id(now), email=LOCAL_OWNER_EMAIL, created_at=now)
    await conn.execute(stmt.on_conflict_do_nothing(index_elements=["email"]))
    owner = await conn.scalar(select(user.c.id).where(user.c.email == LOCAL_OWNER_EMAIL))
    return str(owner)


async def owner_id(conn: AsyncConnection, ctx: StoreContext, workspace_id: str) -> str:
    """The workspace's owner member, else the local owner user."""
    found = await conn.scalar(
        select(member.c.user_id)
        .where(member.c.workspace_id == workspace_id, member.c.role == "owner")
        .order_by(member.c.user_id)
        .limit(1)
    )
    return str(found) if found is not None else await local_owner_id(conn, ctx)


async def owner_ref(conn: AsyncConnection, ctx: StoreContext, workspace_id: str) -> str:
    """The actor ref (``member:<user id>``) of the workspace's owner, for ``creator``."""
    await require(conn, workspace_id)
    return f"member:{await owner_id(conn, ctx, workspace_id)}"


async def bootstrap_default(conn: AsyncConnection, ctx: StoreContext) -> WorkspaceRow:
    """Create (or adopt) slug ``default`` with a local owner member and record it as default.

    Every insert is ON CONFLICT DO NOTHING followed by a read, so two daemons bootstrapping
    one PostgreSQL at once converge on the same rows instead of failing.
    """
    ready = await current_default(conn)
    if ready is not None:
        return ready
    now = ctx.now()
    ins = upsert(conn, workspace).values(
        id=ctx.new_id(now), slug=DEFAULT_SLUG, name=DEFAULT_NAME, created_at=now
    )
    await conn.execute(ins.on_conflict_do_nothing(index_elements=["slug"]))
    ws_id = str(await conn.scalar(select(workspace.c.id).where(workspace.c.slug == DEFAULT_SLUG)))
    owner = await local_owner_id(conn, ctx)
    add_member = upsert(conn, member).values(workspace_id=ws_id, user_id=owner, role="owner")
    await conn.execute(add_member.on_conflict_do_nothing())
    if await settings.get(conn, settings.DEFAULT_WORKSPACE_KEY) is None:
        ws_id = await settings.put_if_absent(conn, settings.DEFAULT_WORKSPACE_KEY, ws_id)
    else:  # the recorded default was deleted: point at the bootstrapped one
        await settings.put(conn, settings.DEFAULT_WORKSPACE_KEY, ws_id)
    found = await _by_id(conn, ws_id)
    assert found is not None
    return workspace_row(found, default_id=ws_id)


async def set_default(conn: AsyncConnection, workspace_id: str) -> WorkspaceRow:
    found = await _by_id(conn, workspace_id)
    if found is None:
        raise NotFound("workspace", workspace_id)
    await settings.put(conn, settings.DEFAULT_WORKSPACE_KEY, workspace_id)
    return workspace_row(found, default_id=workspace_id)


async def rename(
    conn: AsyncConnection, workspace_id: str, slug: str, name: str | None = None
) -> WorkspaceRow:
    """A new slug, and a new name when one is given, or when the name was the old slug (a
    name nobody chose). A taken slug is a ``Conflict``; the id, and so every row of the
    workspace, stays."""
    slug = slug.strip()
    if not slug:
        raise InvalidValue("workspace slug must not be empty")
    found = await _by_id(conn, workspace_id)
    if found is None:
        raise NotFound("workspace", workspace_id)
    values = {"slug": slug}
    if name is not None and name.strip():
        values["name"] = name.strip()
    elif found["name"] == found["slug"]:
        values["name"] = slug
    taken = await conn.scalar(
        select(workspace.c.id).where(workspace.c.slug == slug, workspace.c.id != workspace_id)
    )
    if taken is not None:  # said before the write: PostgreSQL aborts on a failed UPDATE
        raise Conflict(f"workspace slug {slug!r} already exists")
    stmt = update(workspace).where(workspace.c.id == workspace_id).values(values)
    try:
        row = (await conn.execute(stmt.returning(*workspace.c))).mappings().one()
    except IntegrityError as exc:  # taken by a concurrent writer meanwhile
        raise Conflict(f"workspace slug {slug!r} already exists") from exc
    default_id = await settings.get(conn, settings.DEFAULT_WORKSPACE_KEY)
    return workspace_row(row, default_id=default_id)
