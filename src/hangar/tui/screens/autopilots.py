"""Screen 5, Autopilots: the workspace's schedules, and the highlighted one's next fires and
recent runs.

a creates one and e edits the highlighted one (a form that previews the next fire times as
the schedule is typed), r runs it now (through the daemon's fire path: the skip rule
applies, and a skip is said with its reason), d enables or disables it, Enter opens a run's
task. ``autopilot_changed`` updates a row in place; ``autopilot_run_changed`` brings a fresh
list and runs a moment later (a skipped scheduled fire is noted under the autopilot).
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import DataTable, Static

from hangar.client.errors import RemoteError
from hangar.proto import api, calls
from hangar.proto.autopilots import (
    AutopilotCreateParams,
    AutopilotDetail,
    AutopilotRef,
    AutopilotRow,
    AutopilotRunRow,
    AutopilotUpdateParams,
    CronPreviewParams,
    CronPreviewResult,
)
from hangar.proto.events import AnyEvent, AutopilotChanged, AutopilotRunChanged
from hangar.proto.rows import AgentRow
from hangar.tui.link import LinkDown, describe_error
from hangar.tui.screens.autopilot_form import (
    PREVIEW_COUNT,
    AutopilotDraft,
    AutopilotForm,
    fire_time,
    has_seconds,
)
from hangar.tui.screens.base import HangarScreen
from hangar.tui.style import short_id
from hangar.tui.widgets.keyed_table import Cell, KeyedTable

__all__ = ["AutopilotsScreen"]

#: after an event, the snapshot that settles what events cannot say comes this much later
#: runs listed under the highlighted autopilot (the daemon's detail gives its recent ones)
COLUMNS = ("NAME", "AGENT", "SCHEDULE", "STATE", "NEXT", "RUNNING")
RUN_COLUMNS = ("RUN", "STATUS", "TRIGGER", "PLANNED", "STARTED", "FINISHED", "TASK")
RUN_COLOURS = {
    "running": "yellow",
    "completed": "green",
    "failed": "red",
    "cancelled": "grey50",
    "skipped": "magenta",
}


def stamp(ms: int | None) -> str:
    """Local time, to the second today (runs of a seconds schedule differ there), else the
    day and minute."""
    if ms is None:
        return ""
    then = time.localtime(ms / 1000)
    if time.localtime()[:3] == then[:3]:
        return time.strftime("%H:%M:%S", then)
    return time.strftime("%b %d %H:%M", then)


def schedule(row: AutopilotRow) -> str:
    return row.cron_expr if row.timezone == "UTC" else f"{row.cron_expr} {row.timezone}"


def state_of(row: AutopilotRow) -> Text:
    if row.enabled:
        return Text("on", style="green")
    if row.disabled_reason:
        return Text("paused", style="red")
    return Text("off", style="grey50")


class AutopilotsScreen(HangarScreen):
    SETTLE_S = 0.3
    BINDING_GROUP_TITLE = "Autopilots"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "create", "Create", id="autopilot.create"),
        Binding("e", "edit", "Edit", id="autopilot.edit"),
        Binding("r", "run", "Run now", id="autopilot.run"),
        Binding("d", "toggle_enabled", "Enable/disable", id="autopilot.toggle"),
        Binding("enter", "open", "Open run's task", id="autopilot.open"),
    ]
    DEFAULT_CSS = """
    AutopilotsScreen #autopilots { height: 1fr; }
    AutopilotsScreen #empty { height: auto; padding: 0 2; color: $text-muted; }
    AutopilotsScreen #detail { height: auto; padding: 0 1; }
    AutopilotsScreen .section { height: 1; padding: 0 1; text-style: bold; background: $boost; }
    AutopilotsScreen #runs { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.autopilots: dict[str, AutopilotRow] = {}
        self.order: list[str] = []
        #: the highlighted autopilot's detail (its next fires and recent runs)
        self.detail: AutopilotDetail | None = None
        self.runs: dict[str, AutopilotRunRow] = {}
        #: autopilot id → (when, why) of its last skipped fire seen here
        self.skipped: dict[str, tuple[int, str]] = {}

    def body(self) -> list[Widget]:
        return [
            KeyedTable(COLUMNS, id="autopilots"),
            Static("", id="empty"),
            Static("", id="detail"),
            Static("Recent runs", classes="section", id="runs-title"),
            KeyedTable(RUN_COLUMNS, id="runs"),
        ]

    def on_mount(self) -> None:
        super().on_mount()
        self.table.focus()

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#autopilots", KeyedTable)

    @property
    def runs_table(self) -> KeyedTable:
        return self.query_one("#runs", KeyedTable)

    @property
    def highlighted(self) -> AutopilotRow | None:
        key = self.table.current_key
        return self.autopilots.get(key) if key else None

    # -- snapshot and events ------------------------------------------------------------------

    async def refresh_snapshot(self) -> None:
        try:
            listed = await self.hangar.request(calls.AUTOPILOTS_LIST, api.WorkspaceScoped())
        except (LinkDown, RemoteError) as exc:
            if isinstance(exc, RemoteError):
                self.query_one("#empty", Static).update(describe_error(exc))
            return  # the banner says why; what is shown stays
        self.autopilots = {a.id: a for a in listed.autopilots}
        self.order = [a.id for a in listed.autopilots]
        self._render_rows()
        await self._refresh_detail()

    async def _refresh_detail(self) -> None:
        row = self.highlighted
        if row is None:
            self.detail = None
            self._render_detail()
            return
        try:
            detail = await self.hangar.request(calls.AUTOPILOT_GET, AutopilotRef(autopilot=row.id))
        except (LinkDown, RemoteError):
            return  # gone meanwhile (an event says so) or the daemon is away
        if self.table.current_key != row.id:
            return  # the cursor moved on: its own detail is on the way
        self.detail = detail
        self.autopilots[row.id] = detail.autopilot
        self.table.update_row(row.id, self._cells(detail.autopilot))
        self._render_detail()

    def daemon_event(self, event: AnyEvent) -> None:
        if isinstance(event, AutopilotChanged):
            row = event.autopilot
            if event.deleted:
                self.autopilots.pop(row.id, None)
                self.order = [k for k in self.order if k != row.id]
                self._render_rows()
            elif row.id in self.autopilots:  # one row changes: only its cells are touched
                self.autopilots[row.id] = row
                self.table.update_row(row.id, self._cells(row))
            else:
                self._upsert(row)
            if self.detail is not None and self.detail.autopilot.id == row.id:
                self.settle()  # its next fires change with it
        elif isinstance(event, AutopilotRunChanged):
            if event.status == "skipped":
                self.skipped[event.autopilot_id] = (
                    int(time.time() * 1000),
                    event.reason or "unfinished runs reached the cap",
                )
                self._render_detail()
            self.settle()

    @on(DataTable.RowHighlighted, "#autopilots")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        key = event.row_key.value
        if self.detail is None or self.detail.autopilot.id != key:
            self.run_worker(self._refresh_detail(), group="detail", exclusive=True)

    # -- drawing ------------------------------------------------------------------------------

    def _upsert(self, row: AutopilotRow) -> None:
        self.autopilots[row.id] = row
        if row.id not in self.order:
            self.order.append(row.id)
            self.order.sort(key=lambda k: self.autopilots[k].name)  # the daemon's order
        self._render_rows()

    def _render_rows(self) -> None:
        rows = [(k, self._cells(self.autopilots[k])) for k in self.order]
        self.table.sync(rows)
        empty = self.query_one("#empty", Static)
        empty.update("" if rows else "No autopilots yet: press a to schedule one.")
        if not rows and self.detail is not None:
            self.detail = None
            self._render_detail()

    def _cells(self, row: AutopilotRow) -> tuple[Cell, ...]:
        next_fire = ""
        if row.next_tick_at is not None:
            next_fire = fire_time(row.next_tick_at, row.timezone, short=True)
        return (
            row.name,
            row.agent_name or short_id(row.agent_id),
            schedule(row),
            state_of(row),
            next_fire,
            str(row.unfinished_runs),
        )

    def _render_detail(self) -> None:
        box = self.query_one("#detail", Static)
        detail = self.detail
        if detail is None:
            box.update("")
            self.runs = {}
            self.runs_table.sync([])
            return
        row = detail.autopilot
        text = Text()
        text.append(row.name, "bold")
        text.append(f" · {row.agent_name or short_id(row.agent_id)} · {schedule(row)}")
        text.append(f" · mode {row.mode} · at most {row.max_concurrent_runs} unfinished")
        if row.disabled_reason:
            text.append(f"\npaused by Hangar: {row.disabled_reason}", "red")
        if detail.upcoming:
            seconds = has_seconds(detail.upcoming)
            times = ", ".join(
                fire_time(ms, row.timezone, seconds=seconds) for ms in detail.upcoming
            )
            text.append(f"\nnext: {times}")
        elif not row.enabled:
            text.append("\noff: d enables it", "dim")
        skip = self.skipped.get(row.id)
        if skip is not None:
            text.append(f"\nskipped at {stamp(skip[0])}: {skip[1]}", "magenta")
        box.update(text)
        self.runs = {r.id: r for r in detail.recent_runs}
        self.runs_table.sync([(r.id, self._run_cells(r)) for r in detail.recent_runs])

    def _run_cells(self, run: AutopilotRunRow) -> tuple[Cell, ...]:
        task = ""
        if run.task_id:
            task = short_id(run.task_id) + (f" {run.task_status}" if run.task_status else "")
        return (
            short_id(run.id),
            Text(run.status, style=RUN_COLOURS.get(run.status, "")),
            run.trigger,
            stamp(run.planned_at),
            stamp(run.started_at),
            stamp(run.completed_at),
            task,
        )

    # -- intents ------------------------------------------------------------------------------

    async def _agents(self) -> list[AgentRow] | None:
        listed = await self.hangar.rpc(calls.AGENTS_LIST, api.WorkspaceScoped())
        return None if listed is None else listed.agents

    async def _preview(self, cron: str, zone: str) -> CronPreviewResult | str:
        params = CronPreviewParams(cron=cron, timezone=zone, count=PREVIEW_COUNT)
        try:
            return await self.hangar.request(calls.CRON_PREVIEW, params)
        except (RemoteError, LinkDown) as exc:
            return describe_error(exc)

    @work(group="intent")
    async def action_create(self) -> None:
        agents = await self._agents()
        if agents is None:
            return
        if not agents:
            self.notify("No agent to run it yet: create one first (hangar agent create).")
            return

        async def submit(draft: AutopilotDraft) -> str | None:
            params = AutopilotCreateParams(
                name=draft.name,
                agent=draft.agent,
                cron=draft.cron,
                timezone=draft.timezone,
                mode=draft.mode,
                max_concurrent_runs=draft.max_concurrent_runs,
                instructions=draft.instructions,
            )
            try:
                row = await self.hangar.request(calls.AUTOPILOT_CREATE, params)
            except (RemoteError, LinkDown) as exc:
                return describe_error(exc)
            self._upsert(row)
            self.table.move_cursor(row=self.order.index(row.id), animate=False)
            self.notify(f"created autopilot {row.name}")
            return None

        self.app.push_screen(AutopilotForm(submit, self._preview, agents))

    @work(group="intent")
    async def action_edit(self) -> None:
        row = self.highlighted
        if row is None:
            self.notify("No autopilot is highlighted.", severity="warning")
            return
        agents = await self._agents()
        if agents is None:
            return

        async def submit(draft: AutopilotDraft) -> str | None:
            params = AutopilotUpdateParams(
                autopilot=row.id,
                name=draft.name if draft.name != row.name else None,
                agent=draft.agent if draft.agent != row.agent_id else None,
                cron=draft.cron if draft.cron != row.cron_expr else None,
                timezone=draft.timezone if draft.timezone != row.timezone else None,
                mode=draft.mode if draft.mode != row.mode else None,
                max_concurrent_runs=(
                    draft.max_concurrent_runs
                    if draft.max_concurrent_runs != row.max_concurrent_runs
                    else None
                ),
                instructions=draft.instructions if draft.instructions != row.instructions else None,
            )
            try:
                saved = await self.hangar.request(calls.AUTOPILOT_UPDATE, params)
            except (RemoteError, LinkDown) as exc:
                return describe_error(exc)
            self._upsert(saved)
            self.notify(f"saved autopilot {saved.name}")
            await self._refresh_detail()
            return None

        self.app.push_screen(AutopilotForm(submit, self._preview, agents, row))

    @work(group="intent")
    async def action_run(self) -> None:
        row = self.highlighted
        if row is None:
            self.notify("No autopilot is highlighted.", severity="warning")
            return
        result = await self.hangar.rpc(calls.AUTOPILOT_RUN, AutopilotRef(autopilot=row.id))
        if result is None:
            return
        if result.status == "skipped":
            reason = result.reason or "unfinished runs reached the cap"
            self.notify(f"skipped: {reason}", title=row.name, severity="warning")
        else:
            task = f": task {short_id(result.task_id)}" if result.task_id else ""
            self.notify(f"running{task}", title=row.name)
        await self._refresh_detail()

    @work(group="intent")
    async def action_toggle_enabled(self) -> None:
        row = self.highlighted
        if row is None:
            self.notify("No autopilot is highlighted.", severity="warning")
            return
        params = AutopilotUpdateParams(autopilot=row.id, enabled=not row.enabled)
        saved = await self.hangar.rpc(calls.AUTOPILOT_UPDATE, params)
        if saved is None:
            return
        self._upsert(saved)
        self.notify(f"{saved.name} {'enabled' if saved.enabled else 'disabled'}")
        await self._refresh_detail()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # the tables take Enter for themselves and say so
        self.action_open()

    def action_open(self) -> None:
        run: AutopilotRunRow | None = None
        if self.focused is self.runs_table:
            key = self.runs_table.current_key
            run = self.runs.get(key) if key else None
        elif self.detail is not None and self.detail.recent_runs:
            run = self.detail.recent_runs[0]  # the newest
        if run is None:
            self.notify("No run yet: r runs it now.")
        elif run.task_id is None:
            self.notify("That run made no task (it was skipped or is starting).")
        else:
            self.hangar.open_task(run.task_id)
