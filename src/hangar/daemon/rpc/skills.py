"""Skills (sync, list, get, attach, detach, remove) and agent templates (list, get, use).

A sync reads the source directory in a thread, checks the whole batch and writes it in one
transaction, or writes nothing and names every refused skill (docs/skills.md#sync).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hangar.adapters.skill_source import SourceScan, read_source
from hangar.core.templates import TEMPLATES, Template, get_template
from hangar.daemon.events import EventBus
from hangar.daemon.rpc.agents import AgentRoutes
from hangar.daemon.rpc.common import Routes, invalid, not_found, resolve_workspace, routes
from hangar.proto import api, calls
from hangar.proto import jsonrpc as rpc
from hangar.proto import skills as sk
from hangar.proto.events import SkillsChanged
from hangar.store import Conflict, Store

if TYPE_CHECKING:
    from hangar.daemon.rpc.server import Connection

__all__ = ["CONTENT_REPLY_MAX", "SkillRoutes", "template_row"]

#: a skill's files are sent with their contents only up to this many bytes (a frame: 16 MiB)
CONTENT_REPLY_MAX = 4 * 1024 * 1024


def template_row(t: Template) -> sk.TemplateRow:
    return sk.TemplateRow(
        name=t.name,
        description=t.description,
        purpose=t.purpose,
        instructions=t.instructions,
        skills=list(t.skills),
    )


def _problems(scan: SourceScan) -> tuple[list[sk.SkillSyncError], list[sk.SkillSyncError]]:
    errors = [sk.SkillSyncError(skill=e.skill, reason=e.reason) for e in scan.errors]
    skipped = [sk.SkillSyncError(skill=e.skill, reason=e.reason) for e in scan.skipped]
    return errors, skipped


class SkillRoutes:
    def __init__(
        self,
        store: Store,
        events: EventBus,
        agents: AgentRoutes,
        *,
        toolkit_dir: Path,
        log: Any,
    ) -> None:
        self.store = store
        self.events = events
        self.agents = agents
        #: the skills bundled with Hangar: the default source, and where templates get theirs
        self.toolkit_dir = toolkit_dir
        self.log = log

    def routes(self) -> Routes:
        return routes(
            (calls.SKILLS_SYNC, self.sync),
            (calls.SKILLS_LIST, self.list),
            (calls.SKILL_GET, self.get),
            (calls.SKILL_ATTACH, self.attach),
            (calls.SKILL_DETACH, self.detach),
            (calls.SKILL_REMOVE, self.remove),
            (calls.TEMPLATES_LIST, self.templates),
            (calls.TEMPLATE_GET, self.template),
            (calls.TEMPLATE_USE, self.use),
        )

    async def _scan(self, source: Path) -> SourceScan:
        try:
            return await asyncio.to_thread(read_source, source)
        except (FileNotFoundError, NotADirectoryError, PermissionError) as exc:
            raise invalid(f"skills source: {exc}") from None

    async def _changed(self, workspace_id: str, event: SkillsChanged) -> None:
        if event.skills:
            await self.events.publish(workspace_id, event)

    # -- skills ----------------------------------------------------------------------------

    async def sync(self, conn: Connection, p: sk.SkillsSyncParams) -> sk.SkillsSyncResult:
        ws = await resolve_workspace(self.store, p.workspace_id)
        if p.source_path is not None and not os.path.isabs(p.source_path):
            raise invalid(f"source_path must be absolute, got {p.source_path!r}")
        source = Path(p.source_path) if p.source_path is not None else self.toolkit_dir
        scan = await self._scan(source)
        errors, skipped = _problems(scan)
        dry_run = p.dry_run or bool(errors)  # all or nothing: one bad skill, no writes
        items = await self.store.skills.sync(
            ws.id, scan.skills, source=str(source), dry_run=dry_run
        )
        changed = [i.name for i in items if i.status != "unchanged"]
        if not dry_run:
            await self._changed(ws.id, SkillsChanged(change="synced", skills=changed))
        self.log.info(
            "skills synced" if not dry_run else "skills checked",
            workspace=ws.slug,
            source=str(source),
            dry_run=p.dry_run,
            changed=changed,
            refused=[e.skill for e in errors],
        )
        return sk.SkillsSyncResult(
            source=str(source),
            dry_run=p.dry_run,
            written=not dry_run,
            skills=[
                sk.SkillSyncItem(
                    name=i.name,
                    status=i.status,
                    file_count=i.file_count,
                    total_bytes=i.total_bytes,
                )
                for i in items
            ],
            errors=errors,
            skipped=skipped,
        )

    async def list(self, conn: Connection, p: sk.SkillsListParams) -> sk.SkillsListResult:
        ws = await resolve_workspace(self.store, p.workspace_id)
        return sk.SkillsListResult(
            skills=await self.store.skills.in_workspace(ws.id, agent=p.agent)
        )

    async def get(self, conn: Connection, p: sk.SkillGetParams) -> sk.SkillDetail:
        ws = await resolve_workspace(self.store, p.workspace_id)
        detail = await self.store.skills.get(ws.id, p.skill, include_content=p.include_content)
        if detail is None:
            raise not_found("skill", p.skill)
        if p.include_content and detail.skill.total_bytes > CONTENT_REPLY_MAX:
            # escaped JSON may double the text: a skill of up to 8 MiB may not fit one frame
            raise invalid(
                f"skill {detail.skill.name} holds {detail.skill.total_bytes} bytes, too many to "
                f"send at once (the limit is {CONTENT_REPLY_MAX // (1024 * 1024)} MiB); ask "
                "without include_content"
            )
        return detail

    async def attach(self, conn: Connection, p: sk.SkillAttachParams) -> sk.SkillAttachResult:
        ws = await resolve_workspace(self.store, p.workspace_id)
        done = await self.store.skills.attach(ws.id, p.skill, p.agent)
        if done.changed:
            event = SkillsChanged(change="attached", skills=[done.skill], agent_id=done.agent_id)
            await self._changed(ws.id, event)
        return sk.SkillAttachResult(skill=done.skill, agent=done.agent, changed=done.changed)

    async def detach(self, conn: Connection, p: sk.SkillAttachParams) -> sk.SkillAttachResult:
        ws = await resolve_workspace(self.store, p.workspace_id)
        done = await self.store.skills.detach(ws.id, p.skill, p.agent)
        if done.changed:
            event = SkillsChanged(change="detached", skills=[done.skill], agent_id=done.agent_id)
            await self._changed(ws.id, event)
        return sk.SkillAttachResult(skill=done.skill, agent=done.agent, changed=done.changed)

    async def remove(self, conn: Connection, p: sk.SkillRef) -> sk.SkillRemoveResult:
        ws = await resolve_workspace(self.store, p.workspace_id)
        name, detached = await self.store.skills.remove(ws.id, p.skill)
        await self._changed(ws.id, SkillsChanged(change="removed", skills=[name]))
        return sk.SkillRemoveResult(skill=name, detached=detached)

    # -- templates -------------------------------------------------------------------------

    async def templates(self, conn: Connection, p: api.Empty) -> sk.TemplatesListResult:
        return sk.TemplatesListResult(templates=[template_row(t) for t in TEMPLATES])

    def _template(self, name: str) -> Template:
        found = get_template(name)
        if found is None:
            known = ", ".join(t.name for t in TEMPLATES)
            raise rpc.RpcError(
                rpc.NOT_FOUND, f"template not found: {name} (the templates are: {known})"
            )
        return found

    async def template(self, conn: Connection, p: sk.TemplateGetParams) -> sk.TemplateRow:
        return template_row(self._template(p.name))

    async def use(self, conn: Connection, p: sk.TemplateUseParams) -> sk.TemplateUseResult:
        """A new agent from a template, its skills attached, in one transaction; bundled
        skills the workspace lacks are synced in the same transaction."""
        t = self._template(p.name)
        ws = await resolve_workspace(self.store, p.workspace_id)
        params = api.AgentCreateParams(
            workspace_id=p.workspace_id,
            name=p.agent_name or t.name,
            provider=p.provider,
            command=p.command,
            model=p.model,
            instructions=t.instructions,
            repo_path=p.repo_path,
        )
        repo, runtime = await self.agents.prepare(ws.id, params)
        lacking = await self.store.skills.missing(ws.id, t.skills)
        imports = []
        if lacking:
            scan = await self._scan(self.toolkit_dir)
            bundled = {b.name: b for b in scan.skills}
            reasons = {e.skill: e.reason for e in scan.errors}
            for name in lacking:
                if name not in bundled:
                    why = reasons.get(name, "not in the bundled toolkit")
                    raise invalid(f"template {t.name} needs skill {name!r}: {why}")
            imports = [bundled[name] for name in lacking]
        try:
            agent = await self.store.skills.create_agent_with(
                ws.id,
                skills=t.skills,
                imports=imports,
                source=str(self.toolkit_dir),
                name=params.name,
                provider=params.provider,
                runtime_id=runtime.id,
                command=params.command,
                model=params.model,
                instructions=params.instructions,
                repo_path=repo,
            )
        except Conflict:
            raise rpc.RpcError(
                rpc.CONFLICT,
                f"agent {params.name!r} already exists; choose another name (--agent-name)",
            ) from None
        await self.agents.runtimes_changed()
        await self._changed(ws.id, SkillsChanged(change="synced", skills=list(lacking)))
        await self._changed(
            ws.id, SkillsChanged(change="attached", skills=list(t.skills), agent_id=agent.id)
        )
        self.log.info(
            "template used",
            template=t.name,
            agent=agent.name,
            skills=list(t.skills),
            imported=lacking,
        )
        return sk.TemplateUseResult(agent=agent, skills=list(t.skills), imported=list(lacking))
