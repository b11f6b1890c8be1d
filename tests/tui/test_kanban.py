"""Screen K, Kanban: the four columns, the cursor, Enter, card moves (allowed, refused,
re-queue) and events moving cards before the settling snapshot."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rich.text import Text
from textual.pilot import Pilot

from hangar.proto import methods
from hangar.proto.events import TaskFinished, TaskStarted
from hangar.testing import wait_for
from hangar.tui.app import SCREENS_BY_MODE, HangarApp
from hangar.tui.screens import kanban as kanban_module
from hangar.tui.screens.kanban import BOARD, CardColumn, KanbanScreen
from hangar.tui.style import short_id
from tests.daemon.helpers import make_agent
from tests.tui.helpers import Served, file_task, running, shown, status_of, wait_shown, wait_status

LANES = [lane.key for lane in BOARD]


# -- helpers ---------------------------------------------------------------------------------


async def busy_agent(served: Served) -> str:
    """An agent that runs one task at a time, busy with a long one: its next task stays
    queued. Returns the running task's id."""
    await make_agent(served.daemon, "slow", ["sleep", "60"], max_concurrent_tasks=1)
    first = await file_task(served, "Keep the agent busy", "slow")
    await wait_status(served, first, "running")
    return first


def board(app: HangarApp) -> KanbanScreen:
    screen = app.screen
    assert isinstance(screen, KanbanScreen)
    return screen


def lane_keys(app: HangarApp, lane: str) -> list[str]:
    table = board(app).query_one(f"#lane-{lane}", CardColumn)
    return [str(row.key.value) for row in table.ordered_rows]


def lane_of(app: HangarApp, task_id: str) -> str | None:
    for lane in LANES:
        if task_id in lane_keys(app, lane):
            return lane
    return None


async def wait_in_lane(pilot: Pilot[Any], task_id: str, lane: str) -> None:
    app = pilot.app
    assert isinstance(app, HangarApp)

    async def there() -> bool:
        await pilot.pause()
        return lane_of(app, task_id) == lane

    try:
        await wait_for(there, timeout=30, interval=0.05)
    except TimeoutError:
        where = {name: lane_keys(app, name) for name in LANES}
        raise AssertionError(f"{task_id} not in {lane}: {where}\n{shown(app)}") from None


async def highlight(pilot: Pilot[Any], task_id: str) -> None:
    """Put the cursor on a card with the keys a user presses (arrows only)."""
    app = pilot.app
    assert isinstance(app, HangarApp)
    lane = LANES.index(lane_of(app, task_id) or "")
    while board(app).lane != lane:
        await pilot.press("right" if board(app).lane < lane else "left")
    for _ in range(len(lane_keys(app, LANES[lane]))):
        card = board(app).highlighted
        if card is not None and card.id == task_id:
            return
        await pilot.press("down")
    raise AssertionError(f"could not reach {task_id}")


async def wait_notified(app: HangarApp, needle: str) -> str:
    """The notification that says ``needle`` (tests run without the toasts on screen)."""

    def said() -> str | None:
        return next((n.message for n in app._notifications if needle in n.message), None)

    try:
        return str(await wait_for(said, timeout=30, interval=0.05))
    except TimeoutError:
        messages = [n.message for n in app._notifications]
        raise AssertionError(f"never notified {needle!r}: {messages}") from None


def sent(app: HangarApp, method: str) -> int:
    return sum(1 for m in app.sent if m == method)


# -- tests -----------------------------------------------------------------------------------


async def test_columns_hold_the_right_tasks_with_id_agent_title_and_age(served: Served) -> None:
    running_id = await busy_agent(served)
    queued_id = await file_task(served, "Waits for the slow agent", "slow")
    cancelled_id = await file_task(served, "Never mind this one", "slow")
    await served.call(methods.TASK_CANCEL, {"task_id": cancelled_id})
    await make_agent(served.daemon, "ok", ["true"])
    await make_agent(served.daemon, "bad", ["false"])
    done_id = await file_task(served, "Succeeds at once", "ok")
    failed_id = await file_task(served, "Fails at once", "bad")
    await wait_status(served, done_id, "done")
    await wait_status(served, failed_id, "failed")

    async with running(served, start="kanban") as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        text = await wait_shown(
            pilot, "Waits for the slow agent", "Succeeds at once", "Fails at once"
        )
        assert methods.TASKS_LIST in app.sent
        assert methods.ISSUE_GET in app.sent  # a few unknown titles: asked one by one
        assert lane_keys(app, "queued") == [queued_id]
        assert lane_keys(app, "running") == [running_id]
        assert lane_keys(app, "done") == [done_id]
        # failed and cancelled share a column, newest first
        assert lane_keys(app, "failed") == [failed_id, cancelled_id]
        for task_id in (queued_id, running_id, done_id, failed_id, cancelled_id):
            assert short_id(task_id) in text
        assert "slow" in text and "ok" in text and "bad" in text
        assert "Keep the agent busy" in text and "Never mind this one" in text
        assert re.search(r"slow +\d+[smhd]\b", text)  # each card's age, right of its agent
        for title in ("Queued 1", "Running 1", "Done 1", "Failed 2"):
            assert title in text
        # cancelled is shown dim, failed is not
        failed_lane = board(app).query_one("#lane-failed", CardColumn)
        cancelled_card, failed_card = (failed_lane.get_row(k)[0] for k in (cancelled_id, failed_id))
        assert isinstance(cancelled_card, Text) and isinstance(failed_card, Text)
        assert "dim" in str(cancelled_card.style)
        assert "dim" not in str(failed_card.style)


async def test_arrows_walk_cards_and_columns_and_unknown_keys_do_nothing(served: Served) -> None:
    await make_agent(served.daemon, "ok", ["true"])
    first = await file_task(served, "First to finish", "ok")
    await wait_status(served, first, "done")
    second = await file_task(served, "Second to finish", "ok")
    await wait_status(served, second, "done")
    await busy_agent(served)
    queued_id = await file_task(served, "Waits its turn", "slow")

    async with running(served, start="kanban") as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        await wait_shown(pilot, "First to finish", "Second to finish", "Waits its turn")
        screen = board(app)
        assert screen.lane == 0 and screen.highlighted is not None
        assert screen.highlighted.id == queued_id
        await pilot.press("right", "right")
        assert screen.lane == 2
        assert screen.highlighted is not None and screen.highlighted.id == second  # newest
        await pilot.press("down")
        assert screen.highlighted is not None and screen.highlighted.id == first
        await pilot.press("right", "right")  # the last column, and no further
        assert screen.lane == 3 and screen.highlighted is None  # nothing failed
        await pilot.press("left", "left", "left", "left", "left")
        assert screen.lane == 0
        before = list(app.sent)
        await pilot.press("z", "ctrl+y", "f9")
        await pilot.pause()
        assert list(app.sent) == before
        assert app.current_mode == "kanban" and screen.lane == 0
        assert lane_keys(app, "queued") == [queued_id]


async def test_a_move_the_daemon_allows_moves_the_card(served: Served) -> None:
    await busy_agent(served)
    queued_id = await file_task(served, "Not needed", "slow")

    async with running(served, start="kanban") as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        await wait_shown(pilot, "Not needed")
        await highlight(pilot, queued_id)
        # queued is the first column: moving left wraps round to failed, which cancels
        await pilot.press("shift+left")
        await wait_in_lane(pilot, queued_id, "failed")
        assert app.sent.count(methods.TASK_TRANSITION) == 1
        assert await status_of(served, queued_id) == "cancelled"
        await wait_notified(app, "the daemon agreed")


async def test_a_refused_move_says_why_and_the_card_stays(served: Served) -> None:
    await busy_agent(served)
    queued_id = await file_task(served, "Stays queued", "slow")

    async with running(served, start="kanban") as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        await wait_shown(pilot, "Stays queued")
        await highlight(pilot, queued_id)
        await pilot.press("shift+right")  # queued → running belongs to the daemon
        reason = await wait_notified(app, "illegal transition queued -> running")
        assert "can be done by hand" in reason  # the daemon's own words
        assert app.sent.count(methods.TASK_TRANSITION) == 1
        assert lane_of(app, queued_id) == "queued"
        assert await status_of(served, queued_id) == "queued"
        card = board(app).highlighted
        assert card is not None and card.id == queued_id


async def test_moving_a_failed_card_to_queued_requeues_it(served: Served) -> None:
    await make_agent(served.daemon, "bad", ["false"])
    failed_id = await file_task(served, "Try me again", "bad")
    await wait_status(served, failed_id, "failed")

    async with running(served, start="kanban") as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        await wait_shown(pilot, "Try me again")
        await highlight(pilot, failed_id)
        await pilot.press("shift+right")  # failed is the last column: right wraps to queued

        async def retried() -> str | None:
            tasks = (await served.call(methods.TASKS_LIST, {}))["tasks"]
            return next((t["id"] for t in tasks if t["parent_task_id"] == failed_id), None)

        child = await wait_for(retried, timeout=30, interval=0.05)
        assert app.sent.count(methods.TASK_TRANSITION) == 1
        # the new attempt is a card of its own; the failed one stays where it was
        await wait_shown(pilot, short_id(child))
        assert lane_of(app, failed_id) == "failed"
        assert lane_of(app, child) is not None


async def test_enter_opens_the_highlighted_task(served: Served) -> None:
    await make_agent(served.daemon, "ok", ["true"])
    done_id = await file_task(served, "Open me", "ok")
    await wait_status(served, done_id, "done")

    async with running(served, start="kanban") as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        await wait_shown(pilot, "Open me")
        await highlight(pilot, done_id)
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_task_id == done_id
        if "task" in SCREENS_BY_MODE:
            assert app.current_mode == "task"
        else:  # the Task screen is not registered yet: the board says so and stays
            assert app.current_mode == "kanban"
            await wait_notified(app, "not available yet")


async def test_events_move_cards_at_once_and_only_changed_cards_redraw(served: Served) -> None:
    await make_agent(served.daemon, "ok", ["true"])
    done_id = await file_task(served, "Already done", "ok")
    await wait_status(served, done_id, "done")
    await busy_agent(served)
    queued_id = await file_task(served, "Waiting in line", "slow")

    async with running(served, start="kanban") as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        await wait_shown(pilot, "Already done", "Waiting in line")
        screen = board(app)

        def quiet() -> bool:  # no settle pending and no snapshot in flight (a loaded machine)
            # the app runs the first snapshot of a mounted screen on its own workers
            workers = [*screen.workers, *app.workers]
            busy = [w for w in workers if w.group == "snapshot" and not w.is_finished]
            return screen._settle_timer is None and not busy

        await wait_for(quiet, timeout=15)
        done_lane = screen.query_one("#lane-done", CardColumn)
        touched: list[str] = []
        # rows only: a card's age ("4s") may tick over between two renders, which redraws
        # that one cell whatever the events did
        for name in ("add_row", "remove_row"):
            original = getattr(done_lane, name)

            def spy(*args: Any, _name: str = name, _original: Any = original, **kw: Any) -> Any:
                touched.append(_name)
                return _original(*args, **kw)

            setattr(done_lane, name, spy)
        lists_before = sent(app, methods.TASKS_LIST)

        # an event alone moves the card, before any snapshot is asked for
        screen.daemon_event(TaskStarted(task_id=queued_id, started_at=1))
        assert lane_of(app, queued_id) == "running"
        screen.daemon_event(
            TaskFinished(
                task_id=queued_id,
                result="failure",
                status="failed",
                failure_reason="agent_error",
                ended_at=2,
            )
        )
        assert lane_of(app, queued_id) == "failed"
        assert sent(app, methods.TASKS_LIST) == lists_before
        assert touched == []  # the done column did not change, so nothing in it redrew

        # then the settling snapshot puts the card back where the daemon has it
        await wait_in_lane(pilot, queued_id, "queued")
        assert sent(app, methods.TASKS_LIST) > lists_before

        # and real events from the daemon move it too
        await served.call(methods.TASK_CANCEL, {"task_id": queued_id})
        await wait_in_lane(pilot, queued_id, "failed")


async def test_a_long_column_shows_its_newest_cards_and_counts_the_rest(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small numbers stand for the real ones (a few hundred cards, a page of 500 per status)
    monkeypatch.setattr(kanban_module, "COLUMN_CAP", 5)
    monkeypatch.setattr(kanban_module, "STATUS_PAGE", 8)
    monkeypatch.setattr(kanban_module, "TITLE_LOOKUPS", 2)
    await busy_agent(served)
    queued = [await file_task(served, f"Backlog item {n}", "slow") for n in range(10)]

    async with running(served, start="kanban") as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        text = await wait_shown(pilot, "Backlog item 9", "+3+ more", "Queued 8+")
        # the newest five, newest first; the page of eight counted; more beyond it
        assert lane_keys(app, "queued") == queued[::-1][:5]
        assert "Backlog item 4" not in text
        # more unknown titles than are looked up one by one: one page of issues instead
        assert methods.ISSUES_LIST in app.sent
        assert methods.ISSUE_GET not in app.sent
