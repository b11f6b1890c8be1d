"""Screen D, Daemon health: the daemon itself, its slots, the tasks in flight and queued,
the throughput of the last minute (green successes over red failures) and the runtimes.

While the screen is shown it asks the daemon once a second, and asks again only when the
last answer is in (the next poll is armed at the end of each one, so a slow daemon is never
asked twice at once). Another screen in front stops the polling; coming back resumes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import Static

from hangar.client.errors import RemoteError
from hangar.proto import api, calls
from hangar.proto.rows import RuntimeRow
from hangar.tui.link import LinkDown
from hangar.tui.screens.base import HangarScreen
from hangar.tui.style import ago, short_id
from hangar.tui.widgets.keyed_table import Cell, KeyedTable
from hangar.tui.widgets.throughput import ThroughputSparkline

if TYPE_CHECKING:
    from textual.timer import Timer

__all__ = ["POLL_S", "HealthScreen"]

#: how often the screen asks while it is shown
POLL_S = 1.0
RUNTIME_COLUMNS = ("PROVIDER", "MODE", "STATUS", "LAST SEEN", "DAEMON", "ID")
#: colour of a runtime's status
RUNTIME_COLOURS = {"online": "green", "offline": "grey50"}


class HealthScreen(HangarScreen):
    BINDING_GROUP_TITLE = "Daemon health"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "poll_now", "Refresh", id="health.refresh"),
    ]
    DEFAULT_CSS = """
    HealthScreen #daemon, HealthScreen #load { height: auto; padding: 0 1; }
    HealthScreen .title { height: 1; padding: 0 1; margin-top: 1; text-style: bold; }
    HealthScreen ThroughputSparkline { margin: 0 1; }
    HealthScreen #runtimes { height: 1fr; margin: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.snapshot: api.DaemonHealthSnapshot | None = None
        self.daemon: api.HealthSnapshot | None = None
        #: polls run while this is true (the screen is in front)
        self._polling = False
        self._in_flight = False
        self._timer: Timer | None = None

    def body(self) -> list[Widget]:
        return [
            Static("asking the daemon…", id="daemon"),
            Static("", id="load"),
            Static("Throughput, last 60 s", classes="title"),
            ThroughputSparkline(id="throughput"),
            Static("Runtimes", classes="title"),
            KeyedTable(RUNTIME_COLUMNS, id="runtimes"),
        ]

    # -- polling: armed at the end of each poll, only while shown ------------------------------

    def on_screen_resume(self) -> None:
        self._polling = True
        if not self._in_flight and self._timer is None:
            self.action_poll_now()

    def on_screen_suspend(self) -> None:
        self._polling = False
        self._disarm()

    def _arm(self, delay: float) -> None:
        self._disarm()
        self._timer = self.set_timer(delay, self._tick, name="health-poll")

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _tick(self) -> None:
        self._timer = None
        if self._polling:
            self.run_worker(self.pull_snapshot(), group="health-poll")

    async def refresh_snapshot(self) -> None:
        """One poll; the next is armed when it is done (never two at once)."""
        if self._in_flight:
            return
        self._in_flight = True
        try:
            await self._poll()
        finally:
            self._in_flight = False
            if self._polling and self._timer is None:
                self._arm(POLL_S)

    async def _poll(self) -> None:
        try:
            health = await self.hangar.request(calls.DAEMON_HEALTH, api.WorkspaceScoped())
            daemon = await self.hangar.request(calls.HEALTH, api.Empty())
        except (LinkDown, RemoteError):
            return  # the banner says why; what is shown stays until the daemon answers
        self.snapshot, self.daemon = health, daemon
        self._draw(health, daemon)

    def action_poll_now(self) -> None:
        self.run_worker(self.pull_snapshot(), group="health-poll")

    # -- drawing -------------------------------------------------------------------------------

    def _draw(self, health: api.DaemonHealthSnapshot, daemon: api.HealthSnapshot) -> None:
        self.query_one("#daemon", Static).update(_daemon_line(daemon))
        self.query_one("#load", Static).update(_load_line(health))
        self.query_one(ThroughputSparkline).show(health.success_ring, health.failure_ring)
        rows = [(r.id, _runtime_cells(r)) for r in health.runtimes]
        self.query_one("#runtimes", KeyedTable).sync(rows)


def _daemon_line(d: api.HealthSnapshot) -> Text:
    text = Text()
    text.append("Daemon ", style="bold")
    text.append(f"pid {d.pid} · up {_duration(d.uptime_secs)} · version {d.version}")
    text.append(f" · {d.connected} connected\n")
    text.append("Database ", style="bold")
    schema = f"migrated to {d.revision}" if d.migrated and d.revision else "not migrated"
    text.append(f"{d.database} · {schema}", style="" if d.migrated else "red")
    return text


def _load_line(h: api.DaemonHealthSnapshot) -> Text:
    text = Text()
    text.append("Slots ", style="bold")
    full = h.slots_total > 0 and h.slots_used >= h.slots_total
    text.append(f"{h.slots_used}/{h.slots_total} used", style="yellow" if full else "")
    text.append("   Tasks ", style="bold")
    text.append(f"{h.concurrent_tasks} concurrent", style="yellow")
    text.append(" · ")
    text.append(f"{h.queued_tasks} queued", style="cyan")
    return text


def _runtime_cells(r: RuntimeRow) -> tuple[Cell, ...]:
    return (
        r.provider,
        r.runtime_mode,
        Text(r.status, style=RUNTIME_COLOURS.get(r.status, "")),
        ago(r.last_seen_at) or "never",
        short_id(r.daemon_id),
        short_id(r.id),
    )


def _duration(secs: float) -> str:
    whole = int(secs)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60}s"
    if whole < 86400:
        return f"{whole // 3600}h {whole // 60 % 60}m"
    return f"{whole // 86400}d {whole // 3600 % 24}h"
