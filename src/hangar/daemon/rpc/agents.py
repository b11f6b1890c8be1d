"""Agents: list (with their actor rows for pickers), get, create."""

from __future__ import annotations

import os
import shutil
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from hangar.core import names
from hangar.daemon.providers import get_provider
from hangar.daemon.rpc.common import Routes, invalid, not_found, resolve_workspace, routes
from hangar.daemon.rpc.issues import checked_repo
from hangar.proto import api, calls
from hangar.proto import jsonrpc as rpc
from hangar.proto.rows import ActorRow, AgentRow, RuntimeRow
from hangar.store import Conflict, Store

if TYPE_CHECKING:
    from hangar.daemon.rpc.server import Connection

__all__ = ["MAX_INSTRUCTIONS_BYTES", "AgentRoutes"]

#: instructions go into every prompt, next to a description of up to 100 KiB, and one argv
#: string may hold 128 KiB on Linux
MAX_INSTRUCTIONS_BYTES = 24 * 1024


class AgentRoutes:
    def __init__(
        self,
        store: Store,
        *,
        daemon_id: str,
        parent_env: Mapping[str, str],
        runtimes_changed: Callable[[], Awaitable[None]],
    ) -> None:
        self.store = store
        self.daemon_id = daemon_id
        self.parent_env = parent_env
        self.runtimes_changed = runtimes_changed
        self._owners: dict[str, str] = {}

    def routes(self) -> Routes:
        return routes(
            (calls.AGENTS_LIST, self.list),
            (calls.AGENT_GET, self.get),
            (calls.AGENT_CREATE, self.create),
        )

    async def list(self, conn: Connection, p: api.WorkspaceScoped) -> api.AgentsListResult:
        ws = await resolve_workspace(self.store, p.workspace_id)
        agents = await self.store.agent_list(ws.id)
        status = {r.id: r.status for r in await self.store.runtimes_list(ws.id)}
        # the people first (today: the workspace's owner), then the agents, each with the
        # presence of the runtime that would run its tasks
        owner = self._owners.get(ws.id)
        if owner is None:  # a workspace's owner never changes: looked up once (a write, at first)
            owner = self._owners[ws.id] = await self.store.workspace_owner_ref(ws.id)
        actors = [
            ActorRow(
                actor_ref=owner,
                display_name="you",
                subtitle="the workspace's owner",
                presence="online",
                is_agent=False,
            )
        ]
        actors += [
            ActorRow(
                actor_ref=f"agent:{a.id}",
                display_name=a.name,
                subtitle=f"{a.provider}{' · ' + a.model if a.model else ''}",
                presence="online" if status.get(a.runtime_id) == "online" else "offline",
                is_agent=True,
            )
            for a in agents
        ]
        return api.AgentsListResult(actors=actors, agents=agents)

    async def get(self, conn: Connection, p: api.AgentGetParams) -> AgentRow:
        ws = await resolve_workspace(self.store, p.workspace_id)
        agent = await self.store.agent_get(ws.id, p.agent)
        if agent is None:
            raise not_found("agent", p.agent)
        return agent

    async def create(self, conn: Connection, p: api.AgentCreateParams) -> AgentRow:
        ws = await resolve_workspace(self.store, p.workspace_id)
        repo, runtime = await self.prepare(ws.id, p)
        try:
            agent = await self.store.agent_create(
                ws.id,
                name=p.name,
                provider=p.provider,
                runtime_id=runtime.id,
                command=p.command,
                model=p.model,
                instructions=p.instructions,
                max_concurrent_tasks=p.max_concurrent_tasks,
                repo_path=repo,
                max_runtime_ms=p.max_runtime_ms,
                inactivity_timeout_ms=p.inactivity_timeout_ms,
            )
        except Conflict:
            raise rpc.RpcError(rpc.CONFLICT, f"agent {p.name!r} already exists") from None
        await self.runtimes_changed()
        return agent

    async def prepare(
        self, workspace_id: str, p: api.AgentCreateParams
    ) -> tuple[str | None, RuntimeRow]:
        """Check a new agent's fields (name, provider, command, instructions, repository);
        → its repository's toplevel and the runtime that will run it (made if missing).
        Creating it is the caller's: ``create``, or a template's use with its skills."""
        names.validate_agent_name(p.name)
        provider = get_provider(p.provider)
        if p.provider == "command" and not p.command:
            raise invalid("the command provider needs --command (the argv to run)")
        if p.command is not None and not p.command:
            raise invalid("--command must not be empty")
        if len(p.instructions.encode()) > MAX_INSTRUCTIONS_BYTES:
            raise invalid(
                f"instructions are over {MAX_INSTRUCTIONS_BYTES // 1024} KiB: they travel with "
                "every prompt; put long material in a file in the repository and point to it"
            )
        if "\x00" in p.instructions:
            raise invalid("instructions contain a NUL byte")
        exe = p.command[0] if p.command else provider.executable
        if shutil.which(exe, path=self.parent_env.get("PATH", os.defpath)) is None:
            raise invalid(
                f"{exe!r} is not installed or not on the daemon's PATH; install it or pass "
                "--command with the full path"
            )
        repo = await checked_repo(p.repo_path)
        runtime = await self.store.runtime_ensure(workspace_id, self.daemon_id, p.provider)
        return repo, runtime
