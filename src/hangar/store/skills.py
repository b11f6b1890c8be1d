"""Skills: sync a checked batch (all or nothing), list, get, attach to agents, remove, and
an agent's skills with their files for dispatch (docs/skills.md).

A file's bytes are kept as text when they are UTF-8 without NUL (PostgreSQL's TEXT cannot
hold one), else base64; ``encoding`` says which. ``SkillStore`` is the facade's
``store.skills``: each of its calls is one transaction.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.core.skills import SkillBundle, SkillFile, SkillManifest
from hangar.proto.rows import AgentRow
from hangar.proto.skills import SkillDetail, SkillFileRow, SkillRow
from hangar.store import agents
from hangar.store.context import StoreContext
from hangar.store.convert import dump_json, load_json
from hangar.store.dml import upsert
from hangar.store.errors import Conflict, NotFound
from hangar.store.schema import agent, agent_skill, skill, skill_file

__all__ = [
    "AttachChange",
    "SkillStore",
    "SyncItem",
    "attach",
    "create_agent_with_skills",
    "decode_content",
    "detach",
    "encode_content",
    "for_agent",
    "get",
    "list_for_workspace",
    "missing",
    "plan",
    "remove",
    "sync",
]

_S, _F, _AS, _A = skill, skill_file, agent_skill, agent


@dataclass(frozen=True, slots=True)
class SyncItem:
    """What a sync does (or did) to one skill: ``created``, ``updated`` or ``unchanged``."""

    name: str
    status: str
    file_count: int
    total_bytes: int


@dataclass(frozen=True, slots=True)
class AttachChange:
    skill: str
    skill_id: str
    agent: str
    agent_id: str
    #: False: nothing to do (already attached, or not attached for a detach)
    changed: bool


def encode_content(data: bytes) -> tuple[str, str]:
    """(encoding, text) for a file's bytes: UTF-8 text as is, anything else base64."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if "\0" not in text:
            return "utf-8", text
    return "base64", base64.b64encode(data).decode("ascii")


def decode_content(encoding: str, text: str | None) -> bytes:
    if text is None:
        return b""
    if encoding == "base64":
        return base64.b64decode(text)
    return text.encode("utf-8")


# --- reading ------------------------------------------------------------------------------


async def _find(conn: AsyncConnection, workspace_id: str, ident: str) -> RowMapping | None:
    """The skill with this id or name in this workspace (an id match wins)."""
    result = await conn.execute(
        select(_S).where(
            _S.c.workspace_id == workspace_id, or_(_S.c.id == ident, _S.c.name == ident)
        )
    )
    rows = list(result.mappings())
    if not rows:
        return None
    return next((m for m in rows if m["id"] == ident), rows[0])


async def _require(conn: AsyncConnection, workspace_id: str, ident: str) -> RowMapping:
    found = await _find(conn, workspace_id, ident)
    if found is None:
        raise NotFound("skill", ident)
    return found


async def _require_agent(conn: AsyncConnection, workspace_id: str, ident: str) -> RowMapping:
    found = await agents.get_mapping(conn, workspace_id, ident)
    if found is None:
        raise NotFound("agent", ident)
    return found


async def _stats(
    conn: AsyncConnection, skill_ids: Sequence[str] | None, workspace_id: str
) -> tuple[dict[str, tuple[int, int]], dict[str, int]]:
    """Per skill: (file count, total bytes), and how many agents use it."""
    files_q = (
        select(_F.c.skill_id, func.count(), func.coalesce(func.sum(_F.c.size), 0))
        .join(_S, _S.c.id == _F.c.skill_id)
        .where(_S.c.workspace_id == workspace_id)
        .group_by(_F.c.skill_id)
    )
    used_q = (
        select(_AS.c.skill_id, func.count())
        .join(_S, _S.c.id == _AS.c.skill_id)
        .where(_S.c.workspace_id == workspace_id)
        .group_by(_AS.c.skill_id)
    )
    if skill_ids is not None:
        files_q = files_q.where(_F.c.skill_id.in_(skill_ids))
        used_q = used_q.where(_AS.c.skill_id.in_(skill_ids))
    files = {r[0]: (int(r[1]), int(r[2])) for r in (await conn.execute(files_q)).all()}
    used = {r[0]: int(r[1]) for r in (await conn.execute(used_q)).all()}
    return files, used


def _row(m: RowMapping, files: tuple[int, int], used: int) -> SkillRow:
    return SkillRow(
        id=m["id"],
        workspace_id=m["workspace_id"],
        name=m["name"],
        description=m["description"] or "",
        license=m["license"],
        compatibility=m["compatibility"],
        metadata=load_json(m["meta"]) or {},
        allowed_tools=m["allowed_tools"],
        source=m["source"],
        digest=m["digest"],
        file_count=files[0],
        total_bytes=files[1],
        used=used,
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


async def list_for_workspace(
    conn: AsyncConnection, workspace_id: str, *, agent_ident: str | None = None
) -> list[SkillRow]:
    """The workspace's skills by name; with ``agent_ident``, only that agent's."""
    query = select(_S).where(_S.c.workspace_id == workspace_id).order_by(_S.c.name)
    if agent_ident is not None:
        found = await _require_agent(conn, workspace_id, agent_ident)
        query = query.join(_AS, _AS.c.skill_id == _S.c.id).where(_AS.c.agent_id == found["id"])
    rows = list((await conn.execute(query)).mappings())
    files, used = await _stats(conn, None, workspace_id)
    return [_row(m, files.get(m["id"], (0, 0)), used.get(m["id"], 0)) for m in rows]


async def get(
    conn: AsyncConnection, workspace_id: str, ident: str, *, include_content: bool = False
) -> SkillDetail | None:
    found = await _find(conn, workspace_id, ident)
    if found is None:
        return None
    files, used = await _stats(conn, [found["id"]], workspace_id)
    result = await conn.execute(select(_F).where(_F.c.skill_id == found["id"]).order_by(_F.c.path))
    file_rows = [
        SkillFileRow(
            path=f["path"],
            size=f["size"],
            encoding=f["encoding"],
            executable=bool(f["executable"]),
            content=f["content"] if include_content else None,
        )
        for f in result.mappings()
    ]
    names = await conn.execute(
        select(_A.c.name)
        .join(_AS, _AS.c.agent_id == _A.c.id)
        .where(_AS.c.skill_id == found["id"], _A.c.workspace_id == workspace_id)
        .order_by(_A.c.name)
    )
    return SkillDetail(
        skill=_row(found, files.get(found["id"], (0, 0)), used.get(found["id"], 0)),
        body=found["content"] or "",
        files=file_rows,
        agents=[n for (n,) in names.all()],
    )


async def missing(conn: AsyncConnection, workspace_id: str, names: Iterable[str]) -> list[str]:
    """Of ``names``, those the workspace has no skill by, in the order given."""
    wanted = list(dict.fromkeys(names))
    result = await conn.execute(
        select(_S.c.name).where(_S.c.workspace_id == workspace_id, _S.c.name.in_(wanted))
    )
    have = {n for (n,) in result.all()}
    return [n for n in wanted if n not in have]


async def for_agent(conn: AsyncConnection, workspace_id: str, agent_id: str) -> list[SkillBundle]:
    """The agent's skills with every file, by name: what a run gets written for it."""
    result = await conn.execute(
        select(_S)
        .join(_AS, _AS.c.skill_id == _S.c.id)
        .where(_AS.c.agent_id == agent_id, _S.c.workspace_id == workspace_id)
        .order_by(_S.c.name)
    )
    skills = list(result.mappings())
    if not skills:
        return []
    files: dict[str, list[SkillFile]] = {m["id"]: [] for m in skills}
    result = await conn.execute(
        select(_F).where(_F.c.skill_id.in_(list(files))).order_by(_F.c.skill_id, _F.c.path)
    )
    for f in result.mappings():
        data = decode_content(f["encoding"], f["content"])
        files[f["skill_id"]].append(SkillFile(f["path"], data, executable=bool(f["executable"])))
    return [
        SkillBundle(
            SkillManifest(
                name=m["name"],
                description=m["description"] or "",
                body=m["content"] or "",
                license=m["license"],
                compatibility=m["compatibility"],
                metadata=load_json(m["meta"]) or {},
                allowed_tools=m["allowed_tools"],
            ),
            tuple(files[m["id"]]),
        )
        for m in skills
    ]


# --- sync ---------------------------------------------------------------------------------


async def plan(
    conn: AsyncConnection, workspace_id: str, bundles: Sequence[SkillBundle]
) -> list[SyncItem]:
    """What :func:`sync` would do with ``bundles``, writing nothing."""
    names = [b.name for b in bundles]
    result = await conn.execute(
        select(_S.c.name, _S.c.digest).where(
            _S.c.workspace_id == workspace_id, _S.c.name.in_(names)
        )
    )
    digests = {n: d for n, d in result.all()}
    items = []
    for b in bundles:
        if b.name not in digests:
            status = "created"
        elif digests[b.name] == b.digest:
            status = "unchanged"
        else:
            status = "updated"
        items.append(SyncItem(b.name, status, len(b.files), b.total_bytes))
    return items


def _skill_values(b: SkillBundle, source: str | None) -> dict[str, Any]:
    m = b.manifest
    return {
        "description": m.description,
        "content": m.body,
        "license": m.license,
        "compatibility": m.compatibility,
        "meta": dump_json(dict(m.metadata)) if m.metadata else None,
        "allowed_tools": m.allowed_tools,
        "digest": b.digest,
        "source": source,
    }


async def _write_files(conn: AsyncConnection, skill_id: str, files: Sequence[SkillFile]) -> None:
    await conn.execute(delete(_F).where(_F.c.skill_id == skill_id))
    rows = []
    for f in files:
        encoding, text = encode_content(f.data)
        rows.append(
            {
                "skill_id": skill_id,
                "path": f.path,
                "content": text,
                "encoding": encoding,
                "executable": f.executable,
                "size": len(f.data),
            }
        )
    if rows:
        await conn.execute(insert(_F), rows)


async def sync(
    conn: AsyncConnection,
    ctx: StoreContext,
    workspace_id: str,
    bundles: Sequence[SkillBundle],
    *,
    source: str | None,
) -> list[SyncItem]:
    """Upsert every skill of a checked batch by (workspace, name), replacing its files; a
    skill whose digest is unchanged is not touched. The caller's transaction makes it all
    or nothing."""
    items = await plan(conn, workspace_id, bundles)
    now = ctx.now()
    ids = {
        name: ident
        for name, ident in (
            await conn.execute(
                select(_S.c.name, _S.c.id).where(
                    _S.c.workspace_id == workspace_id, _S.c.name.in_([b.name for b in bundles])
                )
            )
        ).all()
    }
    for b, item in zip(bundles, items, strict=True):
        if item.status == "unchanged":
            continue
        values = _skill_values(b, source)
        if item.status == "created":
            skill_id = ctx.new_id(now)
            try:
                await conn.execute(
                    insert(_S).values(
                        id=skill_id,
                        workspace_id=workspace_id,
                        name=b.name,
                        created_at=now,
                        updated_at=now,
                        **values,
                    )
                )
            except IntegrityError as exc:
                raise Conflict(
                    f"skill {b.name!r} was created meanwhile (another sync?); sync again"
                ) from exc
        else:
            skill_id = ids[b.name]
            await conn.execute(
                update(_S).where(_S.c.id == skill_id).values(updated_at=now, **values)
            )
        await _write_files(conn, skill_id, b.files)
    return items


# --- attachments and removal --------------------------------------------------------------


async def attach(
    conn: AsyncConnection, workspace_id: str, skill_ident: str, agent_ident: str
) -> AttachChange:
    """Attach a skill to an agent of the same workspace (another's answers as missing)."""
    s = await _require(conn, workspace_id, skill_ident)
    a = await _require_agent(conn, workspace_id, agent_ident)
    stmt = upsert(conn, _AS).values(agent_id=a["id"], skill_id=s["id"]).on_conflict_do_nothing()
    changed = bool((await conn.execute(stmt)).rowcount)
    return AttachChange(s["name"], s["id"], a["name"], a["id"], changed)


async def detach(
    conn: AsyncConnection, workspace_id: str, skill_ident: str, agent_ident: str
) -> AttachChange:
    s = await _require(conn, workspace_id, skill_ident)
    a = await _require_agent(conn, workspace_id, agent_ident)
    result = await conn.execute(
        delete(_AS).where(_AS.c.agent_id == a["id"], _AS.c.skill_id == s["id"])
    )
    return AttachChange(s["name"], s["id"], a["name"], a["id"], bool(result.rowcount))


async def remove(conn: AsyncConnection, workspace_id: str, ident: str) -> tuple[str, int]:
    """Delete a skill, its files and its attachments: (its name, agents it was detached from)."""
    s = await _require(conn, workspace_id, ident)
    detached = await conn.execute(delete(_AS).where(_AS.c.skill_id == s["id"]))
    await conn.execute(delete(_F).where(_F.c.skill_id == s["id"]))
    await conn.execute(delete(_S).where(_S.c.id == s["id"]))
    return s["name"], int(detached.rowcount)


async def create_agent_with_skills(
    conn: AsyncConnection,
    ctx: StoreContext,
    workspace_id: str,
    *,
    skills: Sequence[str],
    imports: Sequence[SkillBundle],
    source: str | None,
    agent_fields: dict[str, Any],
) -> AgentRow:
    """Sync ``imports``, create the agent and attach ``skills`` (names): one transaction, so
    a failure anywhere (a duplicate agent name, a skill still missing) leaves nothing."""
    if imports:
        await sync(conn, ctx, workspace_id, imports, source=source)
    lacking = await missing(conn, workspace_id, skills)
    if lacking:
        raise NotFound("skill", ", ".join(lacking))
    row = await agents.create(conn, ctx, workspace_id, **agent_fields)
    for name in skills:
        await attach(conn, workspace_id, name, row.id)
    return row


# --- the facade's part --------------------------------------------------------------------

Tx = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


class SkillStore:
    """``store.skills``: the skill operations of the store, each one transaction."""

    def __init__(self, read: Tx, write: Tx, ctx: StoreContext) -> None:
        self._read = read
        self._write = write
        self._ctx = ctx

    async def sync(
        self,
        workspace_id: str,
        bundles: Sequence[SkillBundle],
        *,
        source: str | None = None,
        dry_run: bool = False,
    ) -> list[SyncItem]:
        if dry_run:
            async with self._read() as conn:
                return await plan(conn, workspace_id, bundles)
        async with self._write() as conn:
            return await sync(conn, self._ctx, workspace_id, bundles, source=source)

    async def in_workspace(self, workspace_id: str, *, agent: str | None = None) -> list[SkillRow]:
        async with self._read() as conn:
            return await list_for_workspace(conn, workspace_id, agent_ident=agent)

    async def get(
        self, workspace_id: str, ident: str, *, include_content: bool = False
    ) -> SkillDetail | None:
        async with self._read() as conn:
            return await get(conn, workspace_id, ident, include_content=include_content)

    async def missing(self, workspace_id: str, names: Iterable[str]) -> list[str]:
        async with self._read() as conn:
            return await missing(conn, workspace_id, names)

    async def attach(self, workspace_id: str, skill_ident: str, agent_ident: str) -> AttachChange:
        async with self._write() as conn:
            return await attach(conn, workspace_id, skill_ident, agent_ident)

    async def detach(self, workspace_id: str, skill_ident: str, agent_ident: str) -> AttachChange:
        async with self._write() as conn:
            return await detach(conn, workspace_id, skill_ident, agent_ident)

    async def remove(self, workspace_id: str, ident: str) -> tuple[str, int]:
        async with self._write() as conn:
            return await remove(conn, workspace_id, ident)

    async def for_agent(self, workspace_id: str, agent_id: str) -> list[SkillBundle]:
        async with self._read() as conn:
            return await for_agent(conn, workspace_id, agent_id)

    async def create_agent_with(
        self,
        workspace_id: str,
        *,
        skills: Sequence[str],
        imports: Sequence[SkillBundle] = (),
        source: str | None = None,
        **agent_fields: Any,
    ) -> AgentRow:
        """A new agent (``agent_fields`` as ``Store.agent_create`` takes them) with
        ``skills`` attached, after syncing ``imports``: one transaction."""
        fields: dict[str, Any] = {
            "provider": "command",
            "command": None,
            "model": None,
            "instructions": "",
            "max_concurrent_tasks": 1,
            "repo_path": None,
            "max_runtime_ms": None,
            "inactivity_timeout_ms": None,
            **agent_fields,
        }
        async with self._write() as conn:
            return await create_agent_with_skills(
                conn,
                self._ctx,
                workspace_id,
                skills=skills,
                imports=imports,
                source=source,
                agent_fields=fields,
            )
