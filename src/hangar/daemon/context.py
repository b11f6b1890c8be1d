"""What the daemon's services share: the store, the clock, the bus, and the run settings."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hangar.core.clock import Clock
from hangar.core.env_policy import EnvPolicy
from hangar.core.paths import HangarPaths
from hangar.daemon.bus import EventBus
from hangar.daemon.throughput import ThroughputRing
from hangar.proto.events import Event, IssueUpdated, TaskFinished, TaskQueued
from hangar.proto.rows import AgentRow, TaskRow, WorkspaceRow
from hangar.store import Store

DEFAULT_INACTIVITY_MS = 30 * 60 * 1000
DEFAULT_MAX_RUNTIME_MS = 9_000_000  # 2.5 h


@dataclass
class DaemonContext:
    store: Store
    paths: HangarPaths
    clock: Clock
    bus: EventBus
    log: Any
    env_policy: EnvPolicy
    daemon_id: str
    parent_env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    default_inactivity_ms: int = DEFAULT_INACTIVITY_MS
    default_max_runtime_ms: int = DEFAULT_MAX_RUNTIME_MS
    kill_grace_s: float = 3.0
    #: provisioning (worktree checkout, spawn) must finish within this
    setup_timeout_s: float = 600.0
    throughput: ThroughputRing = field(default_factory=ThroughputRing)
    dispatcher_wake: Callable[[], None] = lambda: None
    #: agents and workspaces never change identity, so the hot path reads them once
    _agents: dict[str, AgentRow] = field(default_factory=dict)
    _workspaces: dict[str, WorkspaceRow] = field(default_factory=dict)

    async def agent(self, workspace_id: str, agent_id: str) -> AgentRow | None:
        row = self._agents.get(agent_id)
        if row is None or row.workspace_id != workspace_id:
            row = await self.store.agent_get(workspace_id, agent_id)
            if row is not None:
                self._agents[agent_id] = row
        return row

    async def workspace(self, workspace_id: str) -> WorkspaceRow | None:
        row = self._workspaces.get(workspace_id)
        if row is None:
            row = await self.store.workspace_resolve(workspace_id)
            if row is not None:
                self._workspaces[workspace_id] = row
        return row

    def publish(self, workspace_id: str, event: Event) -> None:
        self.bus.publish(workspace_id, event)

    def announce_finished(
        self, workspace_id: str, task_id: str, status: str, reason: str | None
    ) -> None:
        """A task reached a terminal state: count it and tell subscribers."""
        now = self.clock.now_ms()
        result = {"done": "success", "cancelled": "cancelled"}.get(status, "failure")
        self.throughput.record(now, success=status == "done")
        self.publish(
            workspace_id,
            TaskFinished(
                task_id=task_id, result=result, status=status, failure_reason=reason, ended_at=now
            ),
        )

    def announce_queued(self, task: TaskRow) -> None:
        self.publish(
            task.workspace_id,
            TaskQueued(task_id=task.id, issue_id=task.issue_id, agent_id=task.agent_id),
        )
        self.dispatcher_wake()

    async def announce_issue(self, workspace_id: str, issue_id: str | None) -> None:
        """The lifecycle moves issue state too (in_progress, done, open): tell subscribers."""
        if issue_id is None or not self.bus.has_subscribers(workspace_id):
            return
        issue = await self.store.issue_get(workspace_id, issue_id)
        if issue is not None:
            self.publish(workspace_id, IssueUpdated(issue=issue))
