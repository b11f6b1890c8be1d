"""Agents and workspaces never change identity, so the hot path reads each one once."""

from __future__ import annotations

from hangar.proto.rows import AgentRow, WorkspaceRow
from hangar.store import Store

__all__ = ["RowCache"]


class RowCache:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._agents: dict[str, AgentRow] = {}
        self._workspaces: dict[str, WorkspaceRow] = {}

    async def agent(self, workspace_id: str, agent_id: str) -> AgentRow | None:
        row = self._agents.get(agent_id)
        if row is None or row.workspace_id != workspace_id:
            row = await self._store.agent_get(workspace_id, agent_id)
            if row is not None:
                self._agents[agent_id] = row
        return row

    async def workspace(self, workspace_id: str) -> WorkspaceRow | None:
        row = self._workspaces.get(workspace_id)
        if row is None:
            row = await self._store.workspace_resolve(workspace_id)
            if row is not None:
                self._workspaces[workspace_id] = row
        return row
