"""Autopilots: list, show (with the next fire times and recent runs), create, edit, delete,
run now, runs, and a schedule preview for forms (docs/autopilots.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hangar.core.clock import Clock
from hangar.core.cron import CronError, Schedule
from hangar.daemon.lifecycle import Lifecycle
from hangar.daemon.rpc.common import Routes, not_found, resolve_workspace, routes
from hangar.proto import api, calls
from hangar.proto import autopilots as ap
from hangar.proto.events import AutopilotChanged
from hangar.store import Store

if TYPE_CHECKING:
    from hangar.daemon.rpc.server import Connection

__all__ = ["UPCOMING", "AutopilotRoutes"]

#: fire times shown by ``autopilot show``
UPCOMING = 5
RECENT_RUNS = 10


class AutopilotRoutes:
    def __init__(
        self, store: Store, lifecycle: Lifecycle, *, clock: Clock, wake: Callable[[], None]
    ) -> None:
        self.store = store
        self.lifecycle = lifecycle
        self.clock = clock
        #: the scheduler looks again (a new or changed plan may be earlier than its sleep)
        self.wake = wake

    def routes(self) -> Routes:
        return routes(
            (calls.AUTOPILOTS_LIST, self.list),
            (calls.AUTOPILOT_GET, self.get),
            (calls.AUTOPILOT_CREATE, self.create),
            (calls.AUTOPILOT_UPDATE, self.update),
            (calls.AUTOPILOT_DELETE, self.delete),
            (calls.AUTOPILOT_RUN, self.run),
            (calls.AUTOPILOT_RUNS, self.runs),
            (calls.CRON_PREVIEW, self.preview),
        )

    async def _require(self, p: ap.AutopilotRef) -> ap.AutopilotRow:
        ws = await resolve_workspace(self.store, p.workspace_id)
        row = await self.store.autopilots.get(ws.id, p.autopilot)
        if row is None:
            raise not_found("autopilot", p.autopilot)
        return row

    async def _changed(self, row: ap.AutopilotRow, *, deleted: bool = False) -> None:
        await self.lifecycle.events.publish(
            row.workspace_id, AutopilotChanged(autopilot=row, deleted=deleted)
        )
        self.wake()

    async def list(self, conn: Connection, p: api.WorkspaceScoped) -> ap.AutopilotsListResult:
        ws = await resolve_workspace(self.store, p.workspace_id)
        return ap.AutopilotsListResult(autopilots=await self.store.autopilots.in_workspace(ws.id))

    async def get(self, conn: Connection, p: ap.AutopilotRef) -> ap.AutopilotDetail:
        row = await self._require(p)
        upcoming: list[int] = []
        if row.enabled:
            try:
                schedule = Schedule.parse(row.cron_expr, row.timezone)
                upcoming = schedule.upcoming(self.clock.now_ms(), UPCOMING)
            except CronError:
                upcoming = []
        runs = await self.store.autopilots.runs(row.workspace_id, row.id, limit=RECENT_RUNS)
        return ap.AutopilotDetail(autopilot=row, upcoming=upcoming, recent_runs=runs)

    async def create(self, conn: Connection, p: ap.AutopilotCreateParams) -> ap.AutopilotRow:
        ws = await resolve_workspace(self.store, p.workspace_id)
        row = await self.store.autopilots.create(
            ws.id,
            name=p.name,
            agent_ref=p.agent,
            cron=p.cron,
            timezone=p.timezone,
            instructions=p.instructions,
            max_concurrent_runs=p.max_concurrent_runs,
            mode=p.mode,
            enabled=p.enabled,
        )
        await self._changed(row)
        return row

    async def update(self, conn: Connection, p: ap.AutopilotUpdateParams) -> ap.AutopilotRow:
        ws = await resolve_workspace(self.store, p.workspace_id)
        row = await self.store.autopilots.update(
            ws.id,
            p.autopilot,
            name=p.name,
            agent=p.agent,
            cron=p.cron,
            timezone=p.timezone,
            instructions=p.instructions,
            max_concurrent_runs=p.max_concurrent_runs,
            mode=p.mode,
            enabled=p.enabled,
        )
        await self._changed(row)
        return row

    async def delete(self, conn: Connection, p: ap.AutopilotRef) -> ap.AutopilotDeleteResult:
        ws = await resolve_workspace(self.store, p.workspace_id)
        row, kept = await self.store.autopilots.delete(ws.id, p.autopilot)
        await self._changed(row, deleted=True)
        return ap.AutopilotDeleteResult(id=row.id, name=row.name, runs_kept=kept)

    async def run(self, conn: Connection, p: ap.AutopilotRef) -> ap.AutopilotRunResult:
        """Now, through the fire path the scheduler uses: the skip and pause rules apply."""
        row = await self._require(p)
        out = await self.lifecycle.fire_autopilot(row.id, expected_tick=None, trigger="manual")
        if out.status == "running" and out.run is not None:
            return ap.AutopilotRunResult(
                status="running",
                run=out.run,
                task_id=out.run.task_id,
                issue_id=out.run.issue_id,
            )
        if out.status == "gone":  # deleted between the look and the fire
            raise not_found("autopilot", p.autopilot)
        return ap.AutopilotRunResult(status="skipped", reason=out.reason)

    async def runs(self, conn: Connection, p: ap.AutopilotRunsParams) -> ap.AutopilotRunsResult:
        row = await self._require(p)
        return ap.AutopilotRunsResult(
            runs=await self.store.autopilots.runs(row.workspace_id, row.id, limit=p.limit)
        )

    async def preview(self, conn: Connection, p: ap.CronPreviewParams) -> ap.CronPreviewResult:
        try:
            schedule = Schedule.parse(p.cron, p.timezone)
        except CronError as exc:
            return ap.CronPreviewResult(error=str(exc))
        return ap.CronPreviewResult(upcoming=schedule.upcoming(self.clock.now_ms(), p.count))
