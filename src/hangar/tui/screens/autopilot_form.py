"""The autopilot form (create and edit): name, agent, schedule, zone, mode, the cap on
unfinished runs and the instructions — with the next fire times previewed as the schedule is
typed. The preview is the daemon's (``hangar/cron_preview``), asked a moment after the last
keystroke; a schedule or zone it cannot read shows its reason in place of the times."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Input, Label, Select, Static, TextArea

from hangar.proto.autopilots import AutopilotMode, AutopilotRow, CronPreviewResult
from hangar.proto.rows import AgentRow
from hangar.tui.screens.modals import Form

__all__ = ["PREVIEW_COUNT", "AutopilotDraft", "AutopilotForm", "fire_time"]

#: fire times the form previews
PREVIEW_COUNT = 5
#: the preview is asked this long after the last keystroke in the schedule or the zone
PREVIEW_DEBOUNCE_S = 0.3
MODES = (("run: a task, no issue", "run"), ("issue: files an issue", "issue"))


def fire_time(ms: int, zone: str, *, seconds: bool = False, short: bool = False) -> str:
    """A fire time in the autopilot's own zone ("Tue 04 Nov 03:00"; short: "04 Nov 03:00");
    UTC if the zone is unknown here (the daemon has checked it; this only draws)."""
    try:
        tz = ZoneInfo(zone)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        tz = ZoneInfo("UTC")
    at = datetime.fromtimestamp(ms / 1000, tz)
    if short:
        return at.strftime("%d %b %H:%M")
    return at.strftime("%a %d %b %H:%M:%S" if seconds else "%a %d %b %H:%M")


def has_seconds(times: list[int]) -> bool:
    return any(ms % 60_000 for ms in times)


@dataclass(frozen=True)
class AutopilotDraft:
    name: str
    agent: str  # the agent's id
    cron: str
    timezone: str
    mode: AutopilotMode
    max_concurrent_runs: int
    instructions: str


#: asked with (cron, zone): the daemon's preview, or the line saying why there is none
Preview = Callable[[str, str], Awaitable[CronPreviewResult | str]]


class AutopilotForm(Form):
    """``submit`` is called with the draft and returns None when the daemon took it, or the
    line to show (its refusal, word for word) — then the form stays open."""

    BINDING_GROUP_TITLE = "Autopilot"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Save", id="form.submit", priority=True),
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
    ]
    DEFAULT_CSS = """
    AutopilotForm > Vertical { width: 90%; max-width: 110; }
    AutopilotForm #ap-top { height: auto; }
    AutopilotForm #ap-fields { width: 1fr; height: auto; }
    AutopilotForm .ap-row { height: 1; margin-bottom: 0; }
    AutopilotForm .ap-label { width: 11; color: $text-muted; }
    AutopilotForm .ap-row Input, AutopilotForm .ap-row Select { width: 1fr; }
    AutopilotForm #ap-preview {
        width: 28; height: auto; min-height: 6; padding: 0 0 0 2;
    }
    AutopilotForm .ap-heading { margin-top: 1; color: $text-muted; }
    AutopilotForm TextArea { height: 5; }
    """

    def __init__(
        self,
        submit: Callable[[AutopilotDraft], Awaitable[str | None]],
        preview: Preview,
        agents: list[AgentRow],
        row: AutopilotRow | None = None,
    ) -> None:
        super().__init__()
        self._submit = submit
        self._preview = preview
        self._agents = agents
        self.row = row
        self._gen = 0
        self._timer: Timer | None = None
        #: the last preview shown: the times, or the daemon's reason
        self.preview_result: CronPreviewResult | None = None

    def compose(self) -> ComposeResult:
        row = self.row
        title = f"Edit autopilot {row.name}" if row else "New autopilot"
        agent_ids = {a.id for a in self._agents}
        agent = row.agent_id if row and row.agent_id in agent_ids else None
        if agent is None and self._agents:
            agent = self._agents[0].id
        with Vertical():
            yield Label(f"{title}  (ctrl+s saves, esc cancels)")
            with Horizontal(id="ap-top"):
                with Vertical(id="ap-fields"):
                    with Horizontal(classes="ap-row"):
                        yield Label("name", classes="ap-label")
                        yield Input(
                            row.name if row else "",
                            placeholder="nightly-deps",
                            id="name",
                            compact=True,
                        )
                    with Horizontal(classes="ap-row"):
                        yield Label("agent", classes="ap-label")
                        yield Select(
                            [(a.name, a.id) for a in self._agents],
                            value=agent if agent is not None else Select.NULL,
                            allow_blank=agent is None,
                            prompt="no agent",
                            id="agent",
                            compact=True,
                        )
                    with Horizontal(classes="ap-row"):
                        yield Label("schedule", classes="ap-label")
                        yield Input(
                            row.cron_expr if row else "",
                            placeholder="0 3 * * *  (cron)",
                            id="cron",
                            compact=True,
                        )
                    with Horizontal(classes="ap-row"):
                        yield Label("zone", classes="ap-label")
                        yield Input(
                            row.timezone if row else "UTC",
                            placeholder="UTC",
                            id="timezone",
                            compact=True,
                        )
                    with Horizontal(classes="ap-row"):
                        yield Label("mode", classes="ap-label")
                        yield Select(
                            MODES,
                            value=row.mode if row else "run",
                            allow_blank=False,
                            id="mode",
                            compact=True,
                        )
                    with Horizontal(classes="ap-row"):
                        yield Label("max runs", classes="ap-label")
                        yield Input(
                            str(row.max_concurrent_runs if row else 1),
                            type="integer",
                            id="max-runs",
                            compact=True,
                        )
                yield Static("", id="ap-preview")
            yield Label("instructions: what the agent does at each fire", classes="ap-heading")
            yield TextArea(row.instructions if row else "", id="instructions")
            yield Static("", classes="form-error")

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()
        self._ask_preview(now=True)

    # -- the preview --------------------------------------------------------------------------

    @on(Input.Changed, "#cron, #timezone")
    def _schedule_changed(self) -> None:
        self._ask_preview()

    def _ask_preview(self, *, now: bool = False) -> None:
        """The daemon's preview of what is typed, a moment after the last keystroke; an
        answer to an older keystroke is dropped."""
        self._gen += 1
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        gen = self._gen
        if now:
            self._fetch_preview(gen)
        else:
            self._timer = self.set_timer(PREVIEW_DEBOUNCE_S, lambda: self._fetch_preview(gen))

    @work(group="preview", exclusive=True)
    async def _fetch_preview(self, gen: int) -> None:
        self._timer = None
        cron = self.query_one("#cron", Input).value.strip()
        zone = self.query_one("#timezone", Input).value.strip() or "UTC"
        box = self.query_one("#ap-preview", Static)
        if not cron:
            self.preview_result = None
            box.update(Text("next fires\ntype a schedule:\nmin hour day month weekday", "dim"))
            return
        answer = await self._preview(cron, zone)
        if gen != self._gen:
            return  # typed on meanwhile
        if isinstance(answer, str):
            self.preview_result = None
            box.update(Text(f"no preview: {answer}", "dim"))
            return
        self.preview_result = answer
        if answer.error:
            box.update(Text(answer.error, "red"))
            return
        text = Text(f"next fires ({zone})\n", "bold")
        seconds = has_seconds(answer.upcoming)
        text.append("\n".join(fire_time(ms, zone, seconds=seconds) for ms in answer.upcoming))
        if not answer.upcoming:
            text.append("never", "dim")
        box.update(text)

    # -- submit -------------------------------------------------------------------------------

    def _draft(self) -> AutopilotDraft | None:
        name = self.query_one("#name", Input).value.strip()
        agent = self.query_one("#agent", Select).value
        cron = self.query_one("#cron", Input).value.strip()
        zone = self.query_one("#timezone", Input).value.strip() or "UTC"
        mode = self.query_one("#mode", Select).value
        runs = self.query_one("#max-runs", Input).value.strip() or "1"
        instructions = self.query_one("#instructions", TextArea).text.strip()
        problem, focus = None, ""
        if not name:
            problem, focus = "The name is missing: it names the autopilot.", "#name"
        elif not isinstance(agent, str):
            problem, focus = "Pick the agent that runs it.", "#agent"
        elif not cron:
            problem, focus = "The schedule is missing: a cron line like 0 3 * * *.", "#cron"
        elif not runs.isdigit() or int(runs) < 1:
            problem, focus = "Max runs is a whole number, 1 or more.", "#max-runs"
        elif not instructions:
            problem = "The instructions are missing: say what the agent does at each fire."
            focus = "#instructions"
        if problem is not None:
            self.error(problem)
            self.query_one(focus).focus()
            return None
        assert isinstance(agent, str)
        return AutopilotDraft(
            name=name,
            agent=agent,
            cron=cron,
            timezone=zone,
            mode="issue" if mode == "issue" else "run",
            max_concurrent_runs=int(runs),
            instructions=instructions,
        )

    async def action_submit(self) -> None:
        draft = self._draft()
        if draft is None:
            return
        problem = await self._submit(draft)
        if problem:
            self.error(problem)
            return
        self.dismiss(True)
