"""Screen 1, Issues: the workspace's issues, filtered by who they are assigned to.

c files a new issue, a assigns the highlighted one (the agent picker), Enter opens its
latest task, v views it with its thread (m comments there), f steps through the filter
chips, r through ready (nothing blocks it) and blocked (a blocker not done). A blocked
issue's state carries a badge. The list is the daemon's page, filtered by the daemon;
events update rows in place and a snapshot a moment later settles the rest.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import Static

from hangar.client.errors import RemoteError
from hangar.proto import api, calls
from hangar.proto.events import AnyEvent, IssueCreated, IssueUpdated, TaskFinished, TaskQueued
from hangar.proto.rows import ActorRow, IssueRow
from hangar.tui.link import LinkDown, describe_error
from hangar.tui.recents import Recents
from hangar.tui.screens.base import HangarScreen
from hangar.tui.screens.modals import AgentPicker, IssueDraft, IssueForm
from hangar.tui.screens.thread import IssueThreadScreen
from hangar.tui.style import short_id, state_text, when
from hangar.tui.widgets.keyed_table import Cell, KeyedTable

__all__ = ["BLOCKED_BADGE", "CHIPS", "READINESS", "IssuesScreen", "blocked_state"]

#: chip label → the daemon's ``assigned`` filter
CHIPS: dict[str, str | None] = {
    "All": None,
    "Members": "members",
    "Agents": "agents",
    "Mine": "mine",
}
#: readiness chip label → the daemon's ``blocked`` filter (docs/lifecycle.md#dependencies)
READINESS: dict[str, bool | None] = {"Any": None, "Ready": False, "Blocked": True}
#: the badge a blocked issue's state carries
BLOCKED_BADGE = "⊘ blocked"
#: rows per snapshot: a screen shows a few dozen; the daemon pages the rest
PAGE = 200
#: after an event, the snapshot that settles what events cannot say comes this much later
COLUMNS = ("ID", "STATE", "PRI", "ASSIGNEE", "TITLE", "CREATED")


class IssuesScreen(HangarScreen):
    BINDING_GROUP_TITLE = "Issues"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "create", "Create", id="issue.create"),
        Binding("a", "assign", "Assign", id="issue.assign"),
        Binding("enter", "open", "Open task", id="issue.open"),
        Binding("f", "next_chip", "Filter", id="issue.filter"),
        Binding("r", "next_readiness", "Ready/blocked", id="issue.readiness"),
        Binding("v", "view", "View", id="issue.view"),
    ]
    DEFAULT_CSS = """
    IssuesScreen #chips { height: 1; padding: 0 1; }
    IssuesScreen #empty { height: auto; padding: 1 2; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.chip = "All"
        self.readiness = "Any"
        self.issues: dict[str, IssueRow] = {}
        self.order: list[str] = []
        self.names: dict[str, str] = {}
        self.actors: list[ActorRow] = []

    def body(self) -> list[Widget]:
        return [
            Static(self._chips_text(), id="chips"),
            KeyedTable(COLUMNS, id="issues"),
            Static("", id="empty"),
        ]

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#issues", KeyedTable)

    # -- snapshot and events ------------------------------------------------------------------

    async def refresh_snapshot(self) -> None:
        assigned = CHIPS[self.chip]
        params = api.IssuesListParams(
            limit=PAGE,
            assigned=assigned,  # type: ignore[arg-type]
            blocked=READINESS[self.readiness],
        )
        try:  # both at once: the first paint waits for the slower, not the sum
            page, agents = await asyncio.gather(
                self.hangar.request(calls.ISSUES_LIST, params),
                self.hangar.request(calls.AGENTS_LIST, api.WorkspaceScoped()),
            )
        except (LinkDown, RemoteError):
            return  # the banner says why; what is shown stays
        self.actors = agents.actors
        self.names = {a.actor_ref: a.display_name for a in agents.actors}
        self.issues = {i.id: i for i in page.issues}
        self.order = [i.id for i in page.issues]
        self._render_rows(more=page.next_before is not None)

    def daemon_event(self, event: AnyEvent) -> None:
        if isinstance(event, IssueUpdated | IssueCreated):
            issue = event.issue
            if issue.id in self.issues:  # one row changes: only its cells are touched
                self.issues[issue.id] = issue
                self.table.update_row(issue.id, self._cells(issue))
            elif isinstance(event, IssueCreated) and self._shows(issue):
                self.order.insert(0, issue.id)
                self.issues[issue.id] = issue
                self._render_rows()
            self.settle()
        elif isinstance(event, TaskQueued | TaskFinished):
            self.settle()

    def _render_rows(self, *, more: bool = False) -> None:
        rows: list[tuple[str, tuple[Cell, ...]]] = [
            (issue_id, self._cells(self.issues[issue_id])) for issue_id in self.order
        ]
        self.table.sync(rows)
        empty = self.query_one("#empty", Static)
        if not rows:
            if self.readiness != "Any":
                hint = f"No {self.readiness.lower()} issues here; r shows the next filter."
            elif self.chip == "All":
                hint = "No issues yet: press c to file one."
            else:
                hint = f"No issues assigned to {self.chip.lower()}; f shows the next filter."
            empty.update(hint)
        elif more:
            empty.update(f"the newest {PAGE} are shown; `hangar issue list --before` pages on")
        else:
            empty.update("")

    def _cells(self, issue: IssueRow) -> tuple[Cell, ...]:
        assignee = self.names.get(issue.assignee or "", issue.assignee or "")
        return (
            short_id(issue.id),
            blocked_state(issue),
            str(issue.priority),
            assignee,
            issue.title,
            when(issue.created_at),
        )

    def _chips_text(self) -> Text:
        text = Text()
        for label in CHIPS:
            style = "bold reverse" if label == self.chip else "dim"
            text.append(f" {label} ", style=style)
            text.append(" ")
        text.append("│ ", style="dim")
        for label in READINESS:
            style = "bold reverse" if label == self.readiness else "dim"
            text.append(f" {label} ", style=style)
            text.append(" ")
        return text

    def _shows(self, issue: IssueRow) -> bool:
        """Whether a new issue belongs under the chips chosen now (without asking)."""
        wanted = READINESS[self.readiness]
        return self.chip == "All" and (wanted is None or wanted == (issue.blocked is not None))

    @property
    def highlighted(self) -> IssueRow | None:
        key = self.table.current_key
        return self.issues.get(key) if key else None

    # -- intents ------------------------------------------------------------------------------

    def action_next_chip(self) -> None:
        labels = list(CHIPS)
        self.chip = labels[(labels.index(self.chip) + 1) % len(labels)]
        self.query_one("#chips", Static).update(self._chips_text())
        self.run_worker(self.pull_snapshot(), group="snapshot", exclusive=True)

    def action_next_readiness(self) -> None:
        labels = list(READINESS)
        self.readiness = labels[(labels.index(self.readiness) + 1) % len(labels)]
        self.query_one("#chips", Static).update(self._chips_text())
        self.run_worker(self.pull_snapshot(), group="snapshot", exclusive=True)

    def action_create(self) -> None:
        async def submit(draft: IssueDraft) -> str | None:
            params = api.IssueCreateParams(title=draft.title, description=draft.description)
            try:
                made = await self.hangar.request(calls.ISSUE_CREATE, params)
            except (RemoteError, LinkDown) as exc:
                return describe_error(exc)
            self.issues[made.issue.id] = made.issue
            if made.issue.id not in self.order:
                self.order.insert(0, made.issue.id)
            self._render_rows()
            self.notify(f"created issue {short_id(made.issue.id)}: {made.issue.title}")
            return None

        self.app.push_screen(IssueForm(submit))

    async def action_assign(self) -> None:
        issue = self.highlighted
        if issue is None:
            self.notify("No issue is highlighted.", severity="warning")
            return
        # who can be picked now, not at the last snapshot: an agent made a moment ago counts
        agents = await self.hangar.rpc(calls.AGENTS_LIST, api.WorkspaceScoped())
        if agents is None:
            return
        self.actors = agents.actors
        self.names = {a.actor_ref: a.display_name for a in agents.actors}
        recents = Recents(self.hangar.paths.tui_state)

        async def picked(ref: str | None) -> None:
            if ref is None:
                return
            params = api.IssueUpdateParams(issue_id=issue.id, assign=ref)
            row = await self.hangar.rpc(calls.ISSUE_UPDATE, params)
            if row is not None:
                self.issues[row.id] = row
                self._render_rows()
                who = self.names.get(ref, ref)
                if row.blocked is not None:  # nothing is queued until its blockers are done
                    self.notify(f"assigned to {who}; it waits: {row.blocked}")
                else:
                    self.notify(f"assigned to {who}")

        self.app.push_screen(AgentPicker(self.actors, recents), picked)

    def action_view(self) -> None:
        """The issue view: its details and its thread (``m`` there comments)."""
        issue = self.highlighted
        if issue is None:
            self.notify("No issue is highlighted.", severity="warning")
            return
        self.app.push_screen(IssueThreadScreen(issue, self.names))

    async def on_data_table_row_selected(self) -> None:
        await self.action_open()  # the table takes Enter for itself and says so

    async def action_open(self) -> None:
        issue = self.highlighted
        if issue is None:
            return
        detail = await self.hangar.rpc(calls.ISSUE_GET, api.IssueGetParams(issue_id=issue.id))
        if detail is None:
            return
        if not detail.tasks:
            if detail.issue.blocked is not None:
                self.notify(f"This issue has no task yet: it is {detail.issue.blocked}.")
            else:
                self.notify("This issue has no task yet: press a to assign it to an agent.")
            return
        newest = max(detail.tasks, key=lambda t: (t.created_at, t.id))
        self.hangar.open_task(newest.id)


def blocked_state(issue: IssueRow) -> Text:
    """The issue's state, with a badge and the reason when something blocks it."""
    text = state_text(issue.state)
    if issue.blocked is not None:
        text.append(f" {BLOCKED_BADGE}", style="bold red")
        # a blocker that ended without done is named with how ("blocked: <id> failed"): the
        # dependent waits for a person, so the badge says so; the ids are in the issue view
        for how in ("failed", "cancelled", "deleted"):
            if issue.blocked.startswith("blocked: ") and f" {how}" in issue.blocked:
                text.append(f" ({how})", style="red")
                break
    return text
