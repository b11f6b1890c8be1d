"""Health: the transport's (`hangar/health`) and the daemon's (`hangar/daemon_health`)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hangar import __version__
from hangar.core.clock import Clock
from hangar.daemon.rpc.common import Routes, resolve_workspace, routes
from hangar.daemon.throughput import ThroughputRing
from hangar.proto import api, calls
from hangar.store import Store

if TYPE_CHECKING:
    from hangar.daemon.rpc.server import Connection

__all__ = ["HealthRoutes", "Load"]


@dataclass(frozen=True)
class Load:
    """Live figures only the running daemon knows, read at call time."""

    connections: Callable[[], int]
    slots_total: Callable[[], int]
    slots_used: Callable[[], int]


class HealthRoutes:
    def __init__(
        self,
        store: Store,
        *,
        socket_path: Path,
        daemon_id: str,
        clock: Clock,
        throughput: ThroughputRing,
        load: Load,
    ) -> None:
        self.store = store
        self.socket_path = socket_path
        self.daemon_id = daemon_id
        self.clock = clock
        self.throughput = throughput
        self.load = load
        self.started = time.monotonic()

    def routes(self) -> Routes:
        return routes(
            (calls.HEALTH, self.health),
            (calls.DAEMON_HEALTH, self.daemon_health),
        )

    async def health(self, conn: Connection, p: api.Empty) -> api.HealthSnapshot:
        info = await self.store.health()
        return api.HealthSnapshot(
            socket_path=str(self.socket_path),
            pid=os.getpid(),
            uptime_secs=round(time.monotonic() - self.started, 3),
            version=__version__,
            connected=self.load.connections(),
            database=str(info.get("dialect")),
            migrated=bool(info.get("migrated")),
            revision=info.get("revision"),
            daemon_id=self.daemon_id,
        )

    async def daemon_health(
        self, conn: Connection, p: api.WorkspaceScoped
    ) -> api.DaemonHealthSnapshot:
        ws = await resolve_workspace(self.store, p.workspace_id)
        runtimes = await self.store.runtimes_list(ws.id)
        success, failure = self.throughput.snapshot(self.clock.now_ms())
        counts = await self.store.task_status_counts(ws.id)
        return api.DaemonHealthSnapshot(
            runtimes=runtimes,
            slots_total=self.load.slots_total(),
            slots_used=self.load.slots_used(),
            concurrent_tasks=counts["dispatched"] + counts["running"],
            queued_tasks=counts["queued"],
            success_ring=success,
            failure_ring=failure,
        )
