"""Blocked issues in the TUI: the badge and the ready/blocked chips on Issues, the waiting
card on Kanban with its "ready only" filter, the issue view's blockers and dependents — and
each following the daemon when the issue is unblocked."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from hangar.testing import wait_for
from hangar.tui.app import HangarApp
from hangar.tui.screens.issues import BLOCKED_BADGE, IssuesScreen
from hangar.tui.screens.kanban import WAITING_PREFIX, KanbanScreen
from hangar.tui.screens.thread import IssueThreadScreen
from hangar.tui.style import short_id
from tests.tui.helpers import Served, running, shown, wait_shown


async def blocked_pair(served: Served) -> tuple[str, str]:
    """A blocker nobody works on, and an issue given to an agent that waits for it."""
    await served.call("hangar/agent_create", {"name": "bot", "provider": "command",
                                              "command": ["sleep", "30"]})  # fmt: skip
    blocker = await served.call("hangar/issue_create", {"title": "Design the schema"})
    made = await served.call(
        "hangar/issue_create",
        {"title": "Write the migration", "assign": "bot", "blocked_by": [blocker["issue"]["id"]]},
    )
    assert made["task"] is None  # blocked: nothing is queued
    return blocker["issue"]["id"], made["issue"]["id"]


async def wait_gone(pilot: Pilot[Any], needle: str, timeout: float = 10) -> str:
    async def gone() -> bool:
        await pilot.pause()
        return needle not in shown(pilot.app)  # type: ignore[arg-type]

    await wait_for(gone, timeout=timeout, interval=0.1)
    return shown(pilot.app)  # type: ignore[arg-type]


async def test_issues_show_the_badge_and_filter_ready_and_blocked(served: Served) -> None:
    blocker, dependent = await blocked_pair(served)
    async with running(served) as pilot:
        assert isinstance(pilot.app.screen, IssuesScreen)
        text = await wait_shown(pilot, "Design the schema", "Write the migration", BLOCKED_BADGE)
        row = next(line for line in text.splitlines() if "Write the migration" in line)
        assert BLOCKED_BADGE in row
        blocker_row = next(line for line in text.splitlines() if "Design the schema" in line)
        assert BLOCKED_BADGE not in blocker_row
        await pilot.press("r")  # Ready: what nothing blocks
        text = await wait_gone(pilot, "Write the migration")
        assert "Design the schema" in text
        assert pilot.app.sent.count("hangar/issues_list") >= 2
        await pilot.press("r")  # Blocked
        text = await wait_gone(pilot, "Design the schema")
        assert "Write the migration" in text
        # unblocked by hand: the daemon queues its task and the row loses its badge
        await served.call("hangar/issue_unblock", {"issue_id": dependent, "by": blocker})
        await pilot.press("r")  # Any
        text = await wait_shown(pilot, "Design the schema", "Write the migration")
        await wait_gone(pilot, BLOCKED_BADGE)


async def test_the_blocked_filter_says_when_nothing_is_blocked(served: Served) -> None:
    await served.call("hangar/issue_create", {"title": "free to run"})
    async with running(served) as pilot:
        await wait_shown(pilot, "free to run")
        await pilot.press("r", "r")  # Blocked
        await wait_shown(pilot, "No blocked issues here; r shows the next filter.")


async def test_the_issue_view_names_blockers_and_dependents(served: Served) -> None:
    blocker, dependent = await blocked_pair(served)
    async with running(served) as pilot:
        await wait_shown(pilot, "Write the migration")
        issues = pilot.app.screen
        assert isinstance(issues, IssuesScreen)
        issues.table.move_cursor(row=issues.order.index(dependent), animate=False)
        await pilot.press("v")
        await wait_for(lambda: isinstance(pilot.app.screen, IssueThreadScreen))
        await wait_shown(pilot, f"⊘ blocked by {blocker}", "waits for:", short_id(blocker))
        await pilot.press("escape")
        issues.table.move_cursor(row=issues.order.index(blocker), animate=False)
        await pilot.press("v")
        await wait_for(lambda: isinstance(pilot.app.screen, IssueThreadScreen))
        await wait_shown(pilot, "blocks:", short_id(dependent), "Write the migration [open]")


async def test_kanban_shows_a_waiting_card_that_cannot_be_moved(served: Served) -> None:
    blocker, dependent = await blocked_pair(served)
    async with running(served, start="kanban") as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        screen = app.screen
        assert isinstance(screen, KanbanScreen)
        await wait_shown(pilot, "⊘ blocked Write the")  # the badge leads the title line
        card = screen.highlighted
        assert card is not None and card.id == WAITING_PREFIX + dependent
        before = len(app.sent)
        await pilot.press("shift+right")
        await wait_for(
            lambda: "is blocked by" in " ".join(str(n.message) for n in app._notifications)
        )
        assert "hangar/task_transition" not in list(app.sent)[before:]
        await pilot.press("r")  # ready only: the waiting card goes
        await wait_gone(pilot, "Write the")
        await pilot.press("r")
        await wait_shown(pilot, "⊘ blocked Write the")
        # unblocked: its real task replaces the waiting card
        await served.call("hangar/issue_unblock", {"issue_id": dependent, "by": blocker})
        await wait_gone(pilot, "⊘ blocked")

        async def has_task() -> bool:
            await pilot.pause()
            return any(
                c.issue_id == dependent and not c.id.startswith(WAITING_PREFIX)
                for c in screen.cards.values()
            )

        await wait_for(has_task, timeout=30, interval=0.1)
