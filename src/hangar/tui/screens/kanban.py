"""Screen K, Kanban: the workspace's tasks in four columns — queued, running (dispatched
and running), done, failed (failed and cancelled, cancelled dim).

Arrows move the cursor between cards and columns, Enter opens the task, Shift+Left and
Shift+Right move the highlighted card one column and ask the daemon for that column's
status (``hangar/task_transition``). The daemon decides: a refused move says why and the
card stays where it was. A person's moves are a cancel (into the failed column) and a
re-queue (a failed or cancelled card into queued, which the daemon does as a new attempt),
so the columns wrap round for moves: Shift+Right on the failed column lands on queued and
Shift+Left on queued lands on failed.

An issue given to an agent but blocked by another (docs/lifecycle.md#dependencies) has no
task yet; it waits in the queued column as a card with a blocked badge, and r hides such
cards (only work that is ready). Such a card cannot be moved: its blockers decide.

Each column is one table of two-line cards (never a widget per task), the newest few
hundred of each status, with "+N more" under it. Events move cards at once; a snapshot a
moment after a burst of events settles what events cannot say.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import ClassVar

from rich.text import Text
from textual.app import UnknownModeError
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Static

from hangar.client.errors import RemoteError
from hangar.core.fsm import TaskStatus
from hangar.proto import api, calls
from hangar.proto.events import (
    AnyEvent,
    IssueCreated,
    IssueUpdated,
    TaskFinished,
    TaskQueued,
    TaskStarted,
)
from hangar.tui.link import LinkDown
from hangar.tui.screens.base import HangarScreen
from hangar.tui.screens.kanban_board import (
    BOARD,
    LANE_OF,
    WAITING_PREFIX,
    Card,
    CardColumn,
    Lane,
)
from hangar.tui.style import STATE_COLOURS, ago, short_id

__all__ = ["BOARD", "COLUMN_CAP", "WAITING_PREFIX", "Card", "CardColumn", "KanbanScreen", "Lane"]

#: cards shown per column; the rest is counted under it
COLUMN_CAP = 200
#: tasks asked for per status: enough to count what a column does not show
STATUS_PAGE = 500
#: unknown issue titles looked up one by one per snapshot (the rest come with later ones)
TITLE_LOOKUPS = 16
#: when more titles are unknown than that, one page of the newest issues is asked for
ISSUES_PAGE = 1000
#: ages on the cards are redrawn this often when nothing else happens
AGE_REDRAW_S = 30.0


class KanbanScreen(HangarScreen):
    BINDING_GROUP_TITLE = "Kanban"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "column(-1)", "Column left", id="kanban.left", priority=True, show=False),
        Binding("right", "column(1)", "Column right", id="kanban.right", priority=True, show=False),
        Binding("shift+left", "move(-1)", "Move card left", id="kanban.move_left", priority=True),
        Binding("shift+right", "move(1)", "Move card right", id="kanban.move_right", priority=True),
        Binding("enter", "open", "Open task", id="kanban.open"),
        Binding("r", "ready_only", "Ready only", id="kanban.ready"),
    ]
    DEFAULT_CSS = """
    KanbanScreen #board { height: 1fr; }
    KanbanScreen .lane { width: 1fr; height: 1fr; border: round $panel; }
    KanbanScreen .lane:focus-within { border: round $accent; }
    KanbanScreen .lane-title { height: 1; padding: 0 1; text-style: bold; }
    KanbanScreen .lane-more { height: 1; padding: 0 1; color: $text-muted; }
    KanbanScreen CardColumn {
        height: 1fr;
        overflow-x: hidden;
        scrollbar-gutter: stable;
        scrollbar-size-vertical: 1;
    }
    KanbanScreen #hint { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.cards: dict[str, Card] = {}
        #: per column: the daemon had more of its tasks than the snapshot asked for
        self.cut: list[bool] = [False] * len(BOARD)
        self.agent_names: dict[str, str] = {}
        self.titles: dict[str, str] = {}
        self.lane = 0
        #: hide the cards of blocked issues (the "ready" filter)
        self.ready_only = False

    def body(self) -> list[Widget]:
        lanes = []
        for lane in BOARD:
            lanes.append(
                Vertical(
                    Static(lane.title, classes="lane-title", id=f"title-{lane.key}"),
                    CardColumn(lane),
                    Static("", classes="lane-more", id=f"more-{lane.key}"),
                    classes="lane",
                )
            )
        hint = Static(self._hint(), id="hint")
        return [Horizontal(*lanes, id="board"), hint]

    def _hint(self) -> str:
        shown = "ready only (r shows blocked too)" if self.ready_only else "r: ready only"
        moves = "shift+←/→ moves a card (wraps round): to failed cancels, to queued re-queues"
        return f"{moves} · {shown}"

    def on_mount(self) -> None:
        super().on_mount()
        self.column(0).focus()
        self.set_interval(AGE_REDRAW_S, self._render_board, name="kanban-ages")

    def on_resize(self) -> None:
        super().on_resize()
        self.call_after_refresh(self._render_board)

    def column(self, n: int) -> CardColumn:
        return self.query_one(f"#lane-{BOARD[n].key}", CardColumn)

    def on_descendant_focus(self) -> None:
        focused = self.focused
        if isinstance(focused, CardColumn):
            self.lane = BOARD.index(focused.lane)

    @property
    def highlighted(self) -> Card | None:
        key = self.column(self.lane).current_key
        return self.cards.get(key) if key else None

    # -- snapshot and events ------------------------------------------------------------------

    async def refresh_snapshot(self) -> None:
        statuses = [status.value for status in TaskStatus]
        try:
            pages = await asyncio.gather(
                *(
                    self.hangar.request(
                        calls.TASKS_LIST, api.TasksListParams(status=status, limit=STATUS_PAGE)
                    )
                    for status in TaskStatus
                )
            )
            agents = await self.hangar.request(calls.AGENTS_LIST, api.WorkspaceScoped())
            blocked = await self.hangar.request(
                calls.ISSUES_LIST, api.IssuesListParams(blocked=True, limit=COLUMN_CAP)
            )
        except (LinkDown, RemoteError):
            return  # the banner says why; what is shown stays
        self.agent_names = {a.id: a.name for a in agents.agents}
        cards: dict[str, Card] = {}
        cut = [False] * len(BOARD)
        for status, page in zip(statuses, pages, strict=True):
            for task in page.tasks:
                cards[task.id] = Card.of(task)
            if page.next_before is not None:
                cut[LANE_OF[status]] = True
        for issue in blocked.issues:
            self.titles[issue.id] = issue.title
            waiting = Card.waiting(issue)
            if waiting is not None:
                cards[waiting.id] = waiting
        self.cards, self.cut = cards, cut
        self._render_board()
        await self._learn_titles()

    async def _learn_titles(self) -> None:
        """Titles of the issues shown cards belong to, asked for only once each."""
        missing = {
            card.issue_id
            for card in self._shown_cards()
            if card.issue_id is not None and card.issue_id not in self.titles
        }
        if not missing:
            return
        try:
            if len(missing) > TITLE_LOOKUPS:  # one page of the newest issues covers most
                page = await self.hangar.request(
                    calls.ISSUES_LIST, api.IssuesListParams(limit=ISSUES_PAGE)
                )
                self.titles.update({issue.id: issue.title for issue in page.issues})
                missing -= self.titles.keys()
            for issue_id in sorted(missing)[:TITLE_LOOKUPS]:
                try:
                    detail = await self.hangar.request(
                        calls.ISSUE_GET, api.IssueGetParams(issue_id=issue_id)
                    )
                except RemoteError:  # gone since: its cards show its id, asked no more
                    self.titles[issue_id] = f"issue {short_id(issue_id)}"
                else:
                    self.titles[issue_id] = detail.issue.title
        except (LinkDown, RemoteError):
            return  # the next snapshot asks again
        self._render_board()

    def daemon_event(self, event: AnyEvent) -> None:
        if isinstance(event, IssueCreated | IssueUpdated):
            issue = event.issue
            waiting_key = WAITING_PREFIX + issue.id
            if (issue.blocked is not None) != (waiting_key in self.cards):
                self.settle()  # blocked or freed: the snapshot says which cards wait
            if self.titles.get(issue.id) != issue.title:
                self.titles[issue.id] = issue.title
                if any(c.issue_id == issue.id for c in self.cards.values()):
                    self._render_board()
            return
        if isinstance(event, TaskQueued):
            if event.issue_id is not None:  # its task is here: the issue waits no more
                self.cards.pop(WAITING_PREFIX + event.issue_id, None)
            if event.task_id not in self.cards:
                now = _now_ms()
                self.cards[event.task_id] = Card(
                    event.task_id, "queued", event.agent_id, event.issue_id, now, now
                )
        elif isinstance(event, TaskStarted):
            self._change(event.task_id, "running", event.started_at)
        elif isinstance(event, TaskFinished):
            self._change(event.task_id, event.status, event.ended_at)
        else:
            return
        self._render_board()
        self.settle()

    def _change(self, task_id: str, status: str, since: int) -> None:
        card = self.cards.get(task_id)
        if card is not None:
            self.cards[task_id] = replace(card, status=status, since=since)

    # -- drawing -------------------------------------------------------------------------------

    def _lanes(self) -> list[list[Card]]:
        lanes: list[list[Card]] = [[] for _ in BOARD]
        for card in self.cards.values():
            if self.ready_only and card.blocked is not None:
                continue
            n = LANE_OF.get(card.status)
            if n is not None:
                lanes[n].append(card)
        for cards in lanes:
            cards.sort(key=lambda c: (c.created_at, c.id), reverse=True)
        return lanes

    def _shown_cards(self) -> list[Card]:
        return [card for cards in self._lanes() for card in cards[:COLUMN_CAP]]

    def _render_board(self) -> None:
        cut = self.cut
        with self.app.batch_update():
            for n, (lane, cards) in enumerate(zip(BOARD, self._lanes(), strict=True)):
                table = self.column(n)
                width = table.card_width
                shown = cards[:COLUMN_CAP]
                table.sync([(c.id, (self._card_text(c, width),)) for c in shown])
                hidden = len(cards) - len(shown)
                plus = "+" if cut[n] else ""
                title = Text(f"{lane.title} ", style=STATE_COLOURS.get(lane.statuses[0], ""))
                title.append(f"{len(cards)}{plus}", style="bold")
                self.query_one(f"#title-{lane.key}", Static).update(title)
                more = f"+{hidden}{plus} more" if hidden or cut[n] else ""
                self.query_one(f"#more-{lane.key}", Static).update(
                    more or ("no tasks" if not cards else "")
                )

    def _card_text(self, card: Card, width: int) -> Text:
        dim = card.status == "cancelled"
        colour = STATE_COLOURS.get(card.status, "")
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append(short_id(card.id), style=f"bold {colour}")
        head.append(" ")
        head.append(self.agent_names.get(card.agent_id, short_id(card.agent_id)))
        lane = BOARD[LANE_OF[card.status]]
        if card.status != lane.statuses[0]:  # dispatched among running, cancelled among failed
            head.append(f" {card.status}", style=colour)
        age = ago(card.since).removesuffix(" ago")
        head.truncate(max(1, width - len(age) - 1), overflow="ellipsis")
        head.pad_right(width - head.cell_len - len(age))
        head.append(age, style="dim")
        if card.issue_id is None:
            title = Text("(no issue)", style="italic")
        else:
            title = Text(self.titles.get(card.issue_id, f"issue {short_id(card.issue_id)}"))
        if card.blocked is not None:  # first on its line: a narrow column still shows it
            title = Text.assemble(("⊘ blocked ", "bold red"), title)
        title.truncate(width, overflow="ellipsis", pad=True)
        return Text.assemble(head, "\n", title, style="dim" if dim else "")

    # -- intents ------------------------------------------------------------------------------

    def action_column(self, step: int) -> None:
        target = self.lane + step
        if not 0 <= target < len(BOARD):
            return
        row = self.column(self.lane).cursor_row
        table = self.column(target)
        table.focus()
        if table.row_count:
            table.move_cursor(row=min(max(row, 0), table.row_count - 1), animate=False)

    def action_ready_only(self) -> None:
        self.ready_only = not self.ready_only
        self.query_one("#hint", Static).update(self._hint())
        self._render_board()

    def action_move(self, step: int) -> None:
        card = self.highlighted
        if card is None:
            return
        if card.blocked is not None:
            self.notify(
                f"issue {short_id(card.issue_id or '')} is {card.blocked}: it is queued when "
                "its blockers are done (`hangar issue unblock` frees it by hand)",
                severity="warning",
            )
            return
        lane = BOARD[(LANE_OF.get(card.status, self.lane) + step) % len(BOARD)]
        self.run_worker(self._move(card, lane), group="move")

    async def _move(self, card: Card, lane: Lane) -> None:
        params = api.TaskTransitionParams(task_id=card.id, to_status=TaskStatus(lane.target))
        done = await self.hangar.rpc(calls.TASK_TRANSITION, params)
        if done is None:
            return  # refused: the daemon's reason is on screen and the card stays
        self.notify(f"task {short_id(card.id)} → {lane.title.lower()}: the daemon agreed")
        self.settle()

    def on_data_table_row_selected(self) -> None:
        self.action_open()  # the table takes Enter for itself and says so

    def action_open(self) -> None:
        card = self.highlighted
        if card is None:
            return
        if card.blocked is not None:
            self.notify(f"issue {short_id(card.issue_id or '')} has no task yet: {card.blocked}")
            return
        try:
            self.hangar.open_task(card.id)
        except UnknownModeError:
            self.notify(f"task {short_id(card.id)}: the Task screen is not available yet")


def _now_ms() -> int:
    return int(time.time() * 1000)
