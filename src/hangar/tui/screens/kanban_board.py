"""The Kanban board's pieces: its columns (lanes), the cards a column shows, and the table
of two-line cards each column is."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets.data_table import RowKey

from hangar.proto.rows import IssueRow, TaskRow
from hangar.tui.widgets.keyed_table import Cell, KeyedTable

__all__ = ["BOARD", "LANE_OF", "WAITING_PREFIX", "Card", "CardColumn", "Lane"]

#: the key of the card of a blocked issue that waits for its blockers (it has no task yet)
WAITING_PREFIX = "issue:"


@dataclass(frozen=True)
class Lane:
    key: str
    title: str
    #: the task statuses this column holds
    statuses: tuple[str, ...]
    #: the status a card moved here asks the daemon for
    target: str


BOARD: tuple[Lane, ...] = (
    Lane("queued", "Queued", ("queued",), "queued"),
    Lane("running", "Running", ("running", "dispatched"), "running"),
    Lane("done", "Done", ("done",), "done"),
    # a person ends a task by cancelling it (docs/wire-protocol.md: task_transition)
    Lane("failed", "Failed", ("failed", "cancelled"), "cancelled"),
)
LANE_OF = {status: n for n, lane in enumerate(BOARD) for status in lane.statuses}


@dataclass(frozen=True)
class Card:
    """What a card shows of a task; events change ``status`` and ``since`` in place."""

    id: str
    status: str
    agent_id: str
    issue_id: str | None
    created_at: int
    #: when the task entered its status (its age on the board)
    since: int
    #: a blocked issue waiting for its blockers (no task yet): why (``IssueRow.blocked``)
    blocked: str | None = None

    @classmethod
    def of(cls, task: TaskRow) -> Card:
        since = {
            "queued": task.created_at,
            "dispatched": task.dispatched_at,
            "running": task.started_at,
        }.get(task.status, task.finished_at)
        since = since or task.created_at
        return cls(task.id, task.status, task.agent_id, task.issue_id, task.created_at, since)

    @classmethod
    def waiting(cls, issue: IssueRow) -> Card | None:
        """The card of a blocked issue given to an agent, or None when it is not one."""
        if issue.blocked is None or not (issue.assignee or "").startswith("agent:"):
            return None
        agent_id = (issue.assignee or "").removeprefix("agent:")
        return cls(
            WAITING_PREFIX + issue.id,
            "queued",
            agent_id,
            issue.id,
            issue.created_at,
            issue.created_at,
            blocked=issue.blocked,
        )


class CardColumn(KeyedTable):
    """One column's cards, two lines each."""

    def __init__(self, lane: Lane) -> None:
        super().__init__(("card",), id=f"lane-{lane.key}", show_header=False)
        self.lane = lane

    def add_row(
        self,
        *cells: Cell,
        height: int | None = 2,
        key: str | None = None,
        label: Text | str | None = None,
    ) -> RowKey:
        return super().add_row(*cells, height=height, key=key, label=label)

    @property
    def card_width(self) -> int:
        return max(16, self.scrollable_content_region.width - 2)
