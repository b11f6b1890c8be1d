"""Screen 4, Skills: the workspace's skills, which agents have each, and one agent to attach
them to or detach them from.

s syncs the bundled toolkit (the daemon's sync: all or nothing; the summary says what was
created, updated or unchanged, and names each refused skill with its reason), i attaches the
highlighted skill to the agent chosen above the list and d detaches it (a picks the agent),
Enter shows its SKILL.md. ``skills_changed`` brings a fresh list a moment later.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import DataTable, Label, Markdown, Select, Static

from hangar.client.errors import RemoteError
from hangar.proto import api, calls
from hangar.proto.events import AnyEvent, SkillsChanged
from hangar.proto.rows import AgentRow
from hangar.proto.skills import (
    SkillAttachParams,
    SkillDetail,
    SkillGetParams,
    SkillRow,
    SkillsListParams,
    SkillsSyncParams,
    SkillsSyncResult,
)
from hangar.tui.link import LinkDown, describe_error
from hangar.tui.screens.base import HangarScreen
from hangar.tui.widgets.keyed_table import Cell, KeyedTable

__all__ = ["SkillBody", "SkillsScreen", "sync_summary"]

#: after an event, the snapshot that settles what events cannot say comes this much later
#: agents asked for their skills (to say who has which); beyond this, counts only
AGENT_LOOKUPS = 50
#: a description is cut to this in the list (the body view has it whole)
DESCRIPTION_WIDTH = 72
COLUMNS = ("SKILL", "ATTACHED", "USED BY", "DESCRIPTION")


def sync_summary(result: SkillsSyncResult) -> Text:
    """What a sync did, per status, and each refused skill with the daemon's reason."""
    counts = Counter(item.status for item in result.skills)
    parts = [f"{counts[s]} {s}" for s in ("created", "updated", "unchanged") if counts[s]]
    text = Text()
    if result.errors:
        text.append(
            f"sync refused, nothing written: {len(result.errors)} bad skill"
            f"{'s' * (len(result.errors) != 1)} in {result.source}",
            "bold red",
        )
        for error in result.errors:
            text.append(f"\n  {error.skill}: {error.reason}", "red")
    else:
        verb = "checked" if result.dry_run else "synced"
        text.append(f"{verb} {result.source}: ", "bold")
        text.append(", ".join(parts) if parts else "no skills there")
        changed = [i.name for i in result.skills if i.status != "unchanged"]
        if changed:
            text.append(f" ({', '.join(changed)})", "dim")
    for skipped in result.skipped:
        text.append(f"\n  skipped {skipped.skill}: {skipped.reason}", "dim")
    return text


def _clip(line: str, width: int) -> str:
    first = line.strip().splitlines()[0] if line.strip() else ""
    return first if len(first) <= width else first[: width - 1] + "…"


class SkillsScreen(HangarScreen):
    SETTLE_S = 0.3
    BINDING_GROUP_TITLE = "Skills"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sync", "Sync toolkit", id="skill.sync"),
        Binding("i", "attach", "Attach", id="skill.attach"),
        Binding("d", "detach", "Detach", id="skill.detach"),
        Binding("a", "pick_agent", "Agent", id="skill.agent"),
        Binding("enter", "show", "Show body", id="skill.show"),
    ]
    DEFAULT_CSS = """
    SkillsScreen #agent-row { height: 1; padding: 0 1; }
    SkillsScreen #agent-row Label { width: auto; padding: 0 1 0 0; }
    SkillsScreen #agent { width: 32; }
    SkillsScreen #agent-hint { width: 1fr; padding: 0 0 0 2; color: $text-muted; }
    SkillsScreen #skills { height: 1fr; }
    SkillsScreen #empty { height: auto; padding: 0 2; color: $text-muted; }
    SkillsScreen #summary { height: auto; max-height: 8; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.skills: dict[str, SkillRow] = {}
        self.order: list[str] = []
        self.agents: list[AgentRow] = []
        #: skill name → the names of the agents that have it (as far as was asked)
        self.holders: dict[str, list[str]] = {}
        #: agent id → the names of its skills
        self.attached: dict[str, set[str]] = {}

    def body(self) -> list[Widget]:
        return [
            Horizontal(
                Label("agent"),
                Select[str]([], prompt="no agents", id="agent", compact=True, type_to_search=False),
                Static("i attaches · d detaches · a picks the agent", id="agent-hint"),
                id="agent-row",
            ),
            KeyedTable(COLUMNS, id="skills"),
            Static("", id="empty"),
            Static("", id="summary"),
        ]

    def on_mount(self) -> None:
        super().on_mount()
        self.table.focus()

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#skills", KeyedTable)

    @property
    def picker(self) -> Select[str]:
        return self.query_one("#agent", Select)

    @property
    def agent(self) -> AgentRow | None:
        """The agent i and d act on."""
        value = self.picker.value
        return next((a for a in self.agents if a.id == value), None)

    @property
    def highlighted(self) -> SkillRow | None:
        key = self.table.current_key
        return self.skills.get(key) if key else None

    # -- snapshot and events ------------------------------------------------------------------

    async def refresh_snapshot(self) -> None:
        try:
            listed, agents = await asyncio.gather(
                self.hangar.request(calls.SKILLS_LIST, SkillsListParams()),
                self.hangar.request(calls.AGENTS_LIST, api.WorkspaceScoped()),
            )
            asked = agents.agents[:AGENT_LOOKUPS]
            theirs = await asyncio.gather(
                *(
                    self.hangar.request(calls.SKILLS_LIST, SkillsListParams(agent=a.id))
                    for a in asked
                )
            )
        except LinkDown:
            return  # the banner says why; what is shown stays
        except RemoteError as exc:
            self.query_one("#empty", Static).update(describe_error(exc))
            return
        self.skills = {s.name: s for s in listed.skills}
        self.order = [s.name for s in listed.skills]
        self.attached = {
            a.id: {s.name for s in r.skills} for a, r in zip(asked, theirs, strict=True)
        }
        self.holders = {}
        for a in asked:
            for name in sorted(self.attached[a.id]):
                self.holders.setdefault(name, []).append(a.name)
        self._set_agents(agents.agents)
        self._render_rows()

    def daemon_event(self, event: AnyEvent) -> None:
        if isinstance(event, SkillsChanged):
            self.settle()

    # -- drawing ------------------------------------------------------------------------------

    def _set_agents(self, agents: list[AgentRow]) -> None:
        """New options only when the agents changed; the chosen one stays chosen."""
        before = [(a.id, a.name) for a in self.agents]
        self.agents = agents
        if before == [(a.id, a.name) for a in agents]:
            return
        chosen = self.picker.value
        with self.prevent(Select.Changed):
            self.picker.set_options([(a.name, a.id) for a in agents])
            if any(a.id == chosen for a in agents):
                self.picker.value = chosen
            elif agents:
                self.picker.value = agents[0].id

    @on(Select.Changed, "#agent")
    def _agent_chosen(self) -> None:
        self._render_rows()
        self.table.focus()

    def _render_rows(self) -> None:
        rows = [(name, self._cells(self.skills[name])) for name in self.order]
        self.table.sync(rows)
        empty = self.query_one("#empty", Static)
        empty.update("" if rows else "No skills yet: press s to sync the bundled toolkit.")

    def _cells(self, skill: SkillRow) -> tuple[Cell, ...]:
        agent = self.agent
        mark: Cell = ""
        if agent is not None and skill.name in self.attached.get(agent.id, set()):
            mark = Text("✓ " + agent.name, style="green")
        holders = self.holders.get(skill.name, [])
        used = ", ".join(holders)
        if skill.used > len(holders):
            used += f"{' +' if holders else ''}{skill.used - len(holders)}"
        return (skill.name, mark, used, _clip(skill.description, DESCRIPTION_WIDTH))

    # -- intents ------------------------------------------------------------------------------

    @work(group="intent", exclusive=True)
    async def action_sync(self) -> None:
        summary = self.query_one("#summary", Static)
        summary.update(Text("syncing the bundled toolkit…", "dim"))
        result = await self.hangar.rpc(calls.SKILLS_SYNC, SkillsSyncParams())
        if result is None:
            summary.update("")
            return
        summary.update(sync_summary(result))
        await self.refresh_snapshot()

    def action_attach(self) -> None:
        self._attach_or_detach(True)

    def action_detach(self) -> None:
        self._attach_or_detach(False)

    @work(group="intent")
    async def _attach_or_detach(self, attach: bool) -> None:
        skill, agent = self.highlighted, self.agent
        if skill is None:
            self.notify("No skill is highlighted.", severity="warning")
            return
        if agent is None:
            self.notify("No agent to attach it to: create one first (hangar agent create).")
            return
        call = calls.SKILL_ATTACH if attach else calls.SKILL_DETACH
        params = SkillAttachParams(skill=skill.name, agent=agent.id)
        done = await self.hangar.rpc(call, params)
        if done is None:
            return
        if attach:
            said = f"attached {skill.name} to {agent.name}"
            if not done.changed:
                said = f"{skill.name} was already attached to {agent.name}"
        else:
            said = f"detached {skill.name} from {agent.name}"
            if not done.changed:
                said = f"{skill.name} was not attached to {agent.name}"
        self.notify(said)
        await self.refresh_snapshot()

    def action_pick_agent(self) -> None:
        if not self.agents:
            self.notify("No agents yet: create one first (hangar agent create).")
            return
        self.picker.focus()
        self.picker.expanded = True

    @on(DataTable.RowSelected, "#skills")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # the table takes Enter for itself and says so
        self.action_show()

    @work(group="intent", exclusive=True)
    async def action_show(self) -> None:
        skill = self.highlighted
        if skill is None:
            return
        detail = await self.hangar.rpc(calls.SKILL_GET, SkillGetParams(skill=skill.name))
        if detail is not None:
            self.app.push_screen(SkillBody(detail))


class SkillBody(ModalScreen[None]):
    """One skill's SKILL.md body, scrollable, with its description, files and agents."""

    BINDING_GROUP_TITLE = "Skill"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="skill_body.close"),
    ]
    DEFAULT_CSS = """
    SkillBody { align: center middle; }
    SkillBody > Vertical {
        width: 90%; max-width: 120; height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    SkillBody #skill-head { height: auto; }
    SkillBody #skill-scroll { height: 1fr; border: round $panel; }
    SkillBody #skill-scroll:focus { border: round $accent; }
    SkillBody #skill-files { height: auto; max-height: 4; color: $text-muted; }
    """

    def __init__(self, detail: SkillDetail) -> None:
        super().__init__()
        self.detail = detail

    def compose(self) -> ComposeResult:
        skill = self.detail.skill
        head = Text()
        head.append(skill.name, "bold")
        head.append("  (↑/↓ PgUp/PgDn scroll, esc closes)\n", "dim")
        head.append(skill.description)
        files = ", ".join(
            f.path + (" (executable)" if f.executable else "") for f in self.detail.files
        )
        agents = ", ".join(self.detail.agents) or "none"
        with Vertical():
            yield Static(head, id="skill-head")
            with VerticalScroll(id="skill-scroll"):
                yield Markdown(self.detail.body or "*(SKILL.md has no body)*")
            yield Static(f"files: {files}\nagents: {agents}", id="skill-files")

    def on_mount(self) -> None:
        self.query_one("#skill-scroll", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
