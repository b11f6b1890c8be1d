"""Screen 2, Task detail: opening a task (from Issues, by `2`, from the recent list), the
header, the live transcript (events, duplicates, gaps, follow, 20k messages), retry, cancel,
the PR badge, a task that does not exist; and the virtual transcript view on its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from hangar.core.clock import SystemClock
from hangar.core.ids import UlidGen
from hangar.core.paths import HangarPaths
from hangar.proto import methods
from hangar.proto.events import TaskMessage, TaskProgress
from hangar.testing import daemon_in_process, wait_for
from hangar.tui.app import HangarApp
from hangar.tui.screens.task import TaskScreen
from hangar.tui.style import LANE_COLOURS, short_id
from hangar.tui.widgets.transcript import TranscriptView
from tests.daemon.helpers import claude_command, make_agent, seed_home
from tests.tui.helpers import Served, file_task, running, shown, status_of, wait_shown, wait_status

# -- helpers ---------------------------------------------------------------------------------


async def done_task(served: Served, title: str = "Say hello", agent: str = "hello") -> str:
    """A task that ran and is done; its transcript is one agent line."""
    await make_agent(served.daemon, agent, ["sh", "-c", "echo hello-from-agent"])
    task_id = await file_task(served, title, agent)
    await wait_status(served, task_id, "done")
    return task_id


def gated(go: Path) -> list[str]:
    """An agent that says one line, waits until ``go`` exists, says another and ends."""
    script = f"echo first-line; while [ ! -e {go} ]; do sleep 0.05; done; echo second-line"
    return ["sh", "-c", script]


async def running_task(served: Served, go: Path, title: str = "Wait for go") -> str:
    await make_agent(served.daemon, "gated", gated(go))
    task_id = await file_task(served, title, "gated")
    await wait_status(served, task_id, "running")
    return task_id


async def open_task(pilot: Pilot[Any], task_id: str) -> TaskScreen:
    app = pilot.app
    assert isinstance(app, HangarApp)
    app.open_task(task_id)
    await wait_for(lambda: isinstance(app.screen, TaskScreen), timeout=10)
    screen = app.screen
    assert isinstance(screen, TaskScreen)
    return screen


def detail_ws(detail: dict[str, Any]) -> str:
    return str(detail["task"]["workspace_id"])


async def publish(served: Served, task_id: str, seq: int, body: str, kind: str = "agent") -> None:
    ws = detail_ws(await served.call(methods.TASK_GET, {"task_id": task_id}))
    await served.daemon.events.publish(
        ws, TaskMessage(task_id=task_id, seq=seq, kind=kind, body=body)
    )


def count(app: HangarApp, method: str) -> int:
    return sum(1 for m in app.sent if m == method)


def segments(app: HangarApp) -> list[Segment]:
    out: list[Segment] = []
    for line in app.screen._compositor.render_update(full=True).strips:  # type: ignore[attr-defined]
        for strip in line:
            out.extend(strip)
    return out


def lane_colour(view: TranscriptView, needle: str) -> str | None:
    for y in range(view.scrollable_content_region.height):
        for seg in view.render_line(y):
            if needle in seg.text and seg.style is not None and seg.style.color is not None:
                return seg.style.color.name
    return None


def lane_rows(view: TranscriptView) -> list[str]:
    """The view's rows as it draws them (its own render_line, inside its border)."""
    height = view.scrollable_content_region.height
    return ["".join(s.text for s in view.render_line(y)).rstrip() for y in range(height)]


async def wait_notified(app: HangarApp, needle: str) -> str:
    """The notification (a toast on screen) that says ``needle``."""

    def said() -> str | None:
        return next((n.message for n in app._notifications if needle in n.message), None)

    try:
        return str(await wait_for(said, timeout=15, interval=0.05))
    except TimeoutError:
        messages = [n.message for n in app._notifications]
        raise AssertionError(f"never notified {needle!r}: {messages}") from None


def colour_of(app: HangarApp, needle: str) -> str | None:
    for seg in segments(app):
        if needle in seg.text and seg.style is not None and seg.style.color is not None:
            return seg.style.color.name
    return None


# -- opening a task --------------------------------------------------------------------------


async def test_enter_on_an_issue_opens_its_task_and_2_finds_it_again(served: Served) -> None:
    task_id = await done_task(served, "Fix the flaky login test")
    async with running(served) as pilot:
        await wait_shown(pilot, "Fix the flaky login test")
        await pilot.press("enter")
        text = await wait_shown(pilot, task_id, "done", "agent hello", "hello-from-agent")
        assert "issue  Fix the flaky login test" in text
        assert "attempt 1 of 2" in text
        assert "started" in text and "finished" in text and "runtime" in text
        assert "result" in text  # the result box, holding the stdout tail
        app = pilot.app
        assert isinstance(app, HangarApp)
        assert methods.TASK_GET in app.sent and methods.TASK_MESSAGES in app.sent
        await pilot.press("1")
        await wait_shown(pilot, "Fix the flaky login test", "ASSIGNEE")
        await pilot.press("2")
        await wait_shown(pilot, task_id, "hello-from-agent")


async def test_2_with_no_task_open_lists_recent_tasks_and_enter_opens_one(
    served: Served,
) -> None:
    older = await done_task(served, "The older one")
    newer = await file_task(served, "The newer one", "hello")
    await wait_status(served, newer, "done")
    async with running(served) as pilot:
        await pilot.press("2")
        text = await wait_shown(pilot, short_id(older), short_id(newer), "Recent tasks")
        assert text.index(short_id(newer)) < text.index(short_id(older))  # newest first
        assert "The newer one" in text and "hello" in text
        app = pilot.app
        assert isinstance(app, HangarApp)
        assert methods.TASKS_LIST in app.sent
        await pilot.press("enter")
        await wait_shown(pilot, newer, "issue  The newer one")
        assert app.current_task_id == newer
        await pilot.press("t")  # back to the list
        await wait_shown(pilot, "Recent tasks")
        await pilot.press("down", "enter")
        await wait_shown(pilot, older, "issue  The older one")


async def test_shown_again_with_another_task_it_switches(served: Served) -> None:
    first = await done_task(served, "First issue")
    await make_agent(served.daemon, "other", ["sh", "-c", "echo other-agent-line"])
    second = await file_task(served, "Second issue", "other")
    await wait_status(served, second, "done")
    async with running(served) as pilot:
        await open_task(pilot, first)
        await wait_shown(pilot, first, "hello-from-agent")
        await pilot.press("1")
        await wait_shown(pilot, "Second issue")
        await open_task(pilot, second)
        text = await wait_shown(pilot, second, "other-agent-line", "issue  Second issue")
        assert "hello-from-agent" not in text and first not in text


async def test_a_task_that_does_not_exist_says_not_found_inline(served: Served) -> None:
    async with running(served) as pilot:
        await open_task(pilot, "01JNOSUCHTASK0000000000000")
        text = await wait_shown(pilot, "01JNOSUCHTASK0000000000000 not found")
        assert "task not found" in text  # the daemon's own words
        assert "transcript" not in text


# -- the header ------------------------------------------------------------------------------


async def test_header_shows_tokens_cost_and_the_pr_badge_and_o_opens_it(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_agent(served.daemon, "claude", claude_command("pr"), provider="claude")
    task_id = await file_task(served, "Open a PR", "claude")
    await wait_status(served, task_id, "done")
    async with running(served) as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        opened: list[str] = []
        monkeypatch.setattr(app, "open_url", lambda url, **kw: opened.append(url))
        await open_task(pilot, task_id)
        text = await wait_shown(pilot, "PR #88", "Opened the PR.")
        assert "tokens in 120 · out 45 · cache read 1,000 · cache write 200" in text
        assert "cost $0.0123" in text
        assert "https://github.com/acme/web/pull/88" in text
        await pilot.press("o")
        await wait_for(lambda: opened == ["https://github.com/acme/web/pull/88"])
        await wait_notified(app, "opening https://github.com/acme/web/pull/88")


async def test_o_without_a_pr_says_so(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    task_id = await done_task(served)
    async with running(served) as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        opened: list[str] = []
        monkeypatch.setattr(app, "open_url", lambda url, **kw: opened.append(url))
        await open_task(pilot, task_id)
        await wait_shown(pilot, "hello-from-agent")
        await pilot.press("o")
        await wait_notified(app, "This task has no pull request.")
        assert opened == []


async def test_five_lanes_in_five_colours(served: Served) -> None:
    task_id = await done_task(served)
    lanes = ["agent", "thinking", "tool_call", "tool_result", "error"]
    await served.daemon.store.messages_append(task_id, [(k, f"{k}-lane-text") for k in lanes])
    async with running(served) as pilot:
        await open_task(pilot, task_id)
        await wait_shown(pilot, *(f"{k}-lane-text" for k in lanes))
        app = pilot.app
        assert isinstance(app, HangarApp)
        # the view draws each lane in its colour; on screen (after the theme maps named
        # colours) they are still five
        screen = app.screen
        assert isinstance(screen, TaskScreen)
        view = screen.transcript
        drawn = {k: lane_colour(view, f"{k}-lane-text") for k in lanes}
        assert drawn == {k: LANE_COLOURS[k] for k in lanes}
        on_screen = {colour_of(app, f"{k}-lane-text") for k in lanes}
        assert len(on_screen) == 5 and None not in on_screen


# -- the live transcript ---------------------------------------------------------------------


async def test_a_running_agents_lines_stream_in_and_the_header_follows(
    served: Served, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    task_id = await running_task(served, go)
    async with running(served) as pilot:
        await open_task(pilot, task_id)
        await wait_shown(pilot, "first-line", "running")
        app = pilot.app
        assert isinstance(app, HangarApp)
        go.touch()
        text = await wait_shown(pilot, "second-line", "done")
        assert "finished" in text
        # the lines came as events: no page was asked for after the first one(s)
        assert count(app, methods.TASK_MESSAGES) <= 2


async def test_events_append_once_and_a_gap_is_fetched(served: Served) -> None:
    task_id = await done_task(served)
    store = served.daemon.store
    async with running(served) as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        screen = await open_task(pilot, task_id)
        await wait_shown(pilot, "hello-from-agent")
        await wait_for(lambda: not screen._forward_busy)
        pages = count(app, methods.TASK_MESSAGES)
        # the next message, as the runner would: stored, then announced
        [row] = await store.messages_append(task_id, [("agent", "via-the-event")])
        await publish(served, task_id, row.seq, row.body)
        await wait_shown(pilot, "via-the-event")
        assert count(app, methods.TASK_MESSAGES) == pages  # folded, not fetched
        # the same event again: shown once
        await publish(served, task_id, row.seq, row.body)
        await pilot.pause()
        # two more stored, only the later one announced: the screen fetches the gap
        rows = await store.messages_append(task_id, [("agent", "missed-one"), ("agent", "last")])
        await publish(served, task_id, rows[1].seq, rows[1].body)
        text = await wait_shown(pilot, "missed-one", "last")
        assert count(app, methods.TASK_MESSAGES) > pages
        assert text.count("via-the-event") == 1
        assert text.index("via-the-event") < text.index("missed-one") < text.index("last")
        assert screen.transcript.entry_count == row.seq + 2
        # progress folds into the header
        await served.daemon.events.publish(
            detail_ws(await served.call(methods.TASK_GET, {"task_id": task_id})),
            TaskProgress(task_id=task_id, tool_calls=3, elapsed_ms=1500),
        )
        await wait_shown(pilot, "3 tool calls")


async def test_follow_stays_at_the_end_until_the_user_scrolls_up(served: Served) -> None:
    task_id = await done_task(served)
    store = served.daemon.store
    await store.messages_append(task_id, [("agent", f"line {n:03}") for n in range(200)])
    async with running(served) as pilot:
        screen = await open_task(pilot, task_id)
        await wait_shown(pilot, "line 199", "following")
        view = screen.transcript
        assert view.follow and view.scroll_y == view.max_scroll_y
        [row] = await store.messages_append(task_id, [("agent", "new at the end")])
        await publish(served, task_id, row.seq, row.body)
        await wait_shown(pilot, "new at the end")
        assert view.scroll_y == view.max_scroll_y
        await pilot.press("pageup")
        await wait_shown(pilot, "paused")
        assert not view.follow
        held = view.scroll_y
        [row] = await store.messages_append(task_id, [("agent", "while paused")])
        await publish(served, task_id, row.seq, row.body)
        await wait_for(lambda: view.entry_count == row.seq)
        await pilot.pause()
        assert view.scroll_y == held and "while paused" not in shown(pilot.app)  # type: ignore[arg-type]
        await pilot.press("f")
        await wait_shown(pilot, "while paused", "following")
        assert view.follow


async def test_twenty_thousand_messages_paint_from_the_end_and_scroll_both_ways(
    served: Served,
) -> None:
    task_id = await done_task(served)
    store = served.daemon.store
    batch = 5000
    for start in range(1, 20_000, batch):
        await store.messages_append(
            task_id, [("agent", f"message {n:05}") for n in range(start, start + batch)]
        )
    last = 20_000  # message 20000 is seq 20001: seq 1 is the agent's own line
    async with running(served) as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        screen = await open_task(pilot, task_id)
        await wait_shown(pilot, f"message {last:05}", "20,001 messages")
        # the first paint needed one page, not twenty
        assert count(app, methods.TASK_MESSAGES) <= 2
        view = screen.transcript
        assert view.more_above and view.entry_count <= 2000
        widgets = len(list(app.screen.query("*")))
        assert widgets < 60

        async def top_reached() -> bool:
            await pilot.press("home")  # each time the top comes into view, a page loads
            return not view.more_above

        await wait_for(top_reached, timeout=90, interval=0.05)
        await pilot.press("home")  # the last page went above the rows shown: up once more
        await wait_shown(pilot, "message 00001")
        assert view.entry_count == 20_001
        assert lane_rows(view)[0] == "▌ hello-from-agent"  # seq 1, the agent's own line
        await pilot.press("end")
        await wait_shown(pilot, f"message {last:05}", "following")
        assert len(list(app.screen.query("*"))) == widgets


async def test_after_the_daemon_comes_back_the_transcript_catches_up(
    hangar_home: Path, migrated_db: Path
) -> None:
    home = seed_home(hangar_home / "h", migrated_db)
    first = daemon_in_process(home, clock=SystemClock(), ids=UlidGen(), serve=True)
    daemon = await first.__aenter__()
    stopped = False
    try:
        served = Served(daemon=daemon, paths=HangarPaths(home))
        task_id = await done_task(served)
        async with running(served) as pilot:
            await open_task(pilot, task_id)
            await wait_shown(pilot, "hello-from-agent")
            stopped = True
            await first.__aexit__(None, None, None)
            text = await wait_shown(pilot, "daemon unreachable — reconnecting")
            assert "hello-from-agent" in text  # what was shown stays
            again = daemon_in_process(home, clock=SystemClock(), ids=UlidGen(), serve=True)
            async with again as back:
                # written while nobody listened: no event will ever say so
                await back.store.messages_append(task_id, [("agent", "said-while-away")])
                text = await wait_shown(pilot, "said-while-away", timeout=20)
                assert "daemon unreachable" not in text
                assert text.index("hello-from-agent") < text.index("said-while-away")
    finally:
        if not stopped:
            await first.__aexit__(None, None, None)


# -- retry and cancel ------------------------------------------------------------------------


async def test_r_retries_a_failed_task_and_opens_the_new_one(served: Served) -> None:
    await make_agent(served.daemon, "fails", ["sh", "-c", "echo trying; exit 3"])
    task_id = await file_task(served, "Doomed", "fails")
    await wait_status(served, task_id, "failed")
    async with running(served) as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        screen = await open_task(pilot, task_id)
        await wait_shown(pilot, "failed", "agent_error", "trying")
        await pilot.press("r")
        await wait_for(lambda: screen.task_id != task_id)
        child = screen.task_id
        assert child is not None and app.current_task_id == child
        await wait_shown(pilot, child, f"retry of {short_id(task_id)}", "attempt 2 of")
        assert methods.TASK_RETRY in app.sent
        detail = await served.call(methods.TASK_GET, {"task_id": child})
        assert detail["task"]["parent_task_id"] == task_id


async def test_r_on_a_running_task_shows_the_daemons_refusal(
    served: Served, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    task_id = await running_task(served, go)
    try:
        async with running(served) as pilot:
            app = pilot.app
            assert isinstance(app, HangarApp)
            screen = await open_task(pilot, task_id)
            await wait_shown(pilot, "first-line", "running")
            await pilot.press("r")
            await wait_notified(app, f"cannot retry task {task_id}: it is running")
            assert app.sent.count(methods.TASK_RETRY) == 1
            assert screen.task_id == task_id
    finally:
        go.touch()
    await wait_status(served, task_id, "done")


async def test_x_cancels_a_running_task(served: Served, tmp_path: Path) -> None:
    task_id = await running_task(served, tmp_path / "never")
    async with running(served) as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        await open_task(pilot, task_id)
        await wait_shown(pilot, "first-line", "running")
        await pilot.press("x")
        await wait_shown(pilot, "cancelled")
        assert methods.TASK_CANCEL in app.sent
        assert await status_of(served, task_id) == "cancelled"


async def test_x_on_a_finished_task_shows_the_daemons_refusal(served: Served) -> None:
    task_id = await done_task(served)
    async with running(served) as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        await open_task(pilot, task_id)
        await wait_shown(pilot, "hello-from-agent")
        await pilot.press("x")
        await wait_notified(app, f"cannot cancel task {task_id}: it is done")
        assert app.sent.count(methods.TASK_CANCEL) == 1
        assert await status_of(served, task_id) == "done"


async def test_an_unknown_key_does_nothing(served: Served) -> None:
    task_id = await done_task(served)
    async with running(served) as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        screen = await open_task(pilot, task_id)
        before = await wait_shown(pilot, "▌ hello-from-agent", "r Retry")
        await wait_for(lambda: not screen._forward_busy)
        sent = list(app.sent)
        await pilot.press("z", "Q", "9")
        await pilot.pause()
        assert list(app.sent) == sent
        assert app.screen is screen and screen.task_id == task_id
        assert shown(app).splitlines()[2:] == before.splitlines()[2:]  # below the clock


async def test_the_palette_names_the_task_commands_and_runs_them(served: Served) -> None:
    task_id = await done_task(served)
    async with running(served) as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        await pilot.press("2")
        await wait_shown(pilot, "Recent tasks")
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert "task: retry" not in titles  # nothing to retry in the list
        await open_task(pilot, task_id)
        await wait_shown(pilot, "hello-from-agent", "r Retry")
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        wanted = {"task: retry", "task: cancel", "task: open pr", "task: follow"}
        assert wanted | {"task: recent tasks"} <= set(commands), sorted(commands)
        await commands["task: cancel"].callback()
        await wait_notified(app, f"cannot cancel task {task_id}: it is done")


# -- the transcript view on its own ----------------------------------------------------------


class ViewApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TranscriptView(id="view")


def rows_of(app: App[None]) -> list[str]:
    return lane_rows(app.query_one(TranscriptView))


async def test_the_view_wraps_long_and_wide_lines_and_rewraps_on_resize() -> None:
    app = ViewApp()
    async with app.run_test(size=(41, 12)) as pilot:
        view = app.query_one(TranscriptView)
        await pilot.pause()
        text = view.scrollable_content_region.width - 2  # the gutter takes two cells
        assert text % 2 == 1  # an odd width, so a wide character cannot end a row exactly
        view.append(
            [
                (1, "agent", "a" * (text + 5)),
                (2, "tool_call", "中" * (text // 2 + 3)),
                (3, "error", "x\ty"),
            ]
        )
        await pilot.pause()
        assert view.row_count == 2 + 2 + 1
        rows = rows_of(app)
        assert rows[0] == "▌ " + "a" * text and rows[1] == "  " + "a" * 5
        assert (
            rows[2].endswith("中" * (text // 2)) and rows[3] == "  中中中"
        )  # continuation: blank gutter
        assert "x   y" in rows[4]  # tabs expanded
        await pilot.resize_terminal(60, 12)
        await wait_for(lambda: view.row_count == 1 + 1 + 1, timeout=5)


async def test_the_view_renders_only_what_is_visible() -> None:
    app = ViewApp()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(TranscriptView)
        view.append((n, "agent", f"row {n}") for n in range(1, 100_001))
        await pilot.pause()
        assert view.row_count == 100_000 and view.follow
        assert "row 100000" in "\n".join(rows_of(app))
        # only the messages drawn were wrapped into rows and cached
        assert len(view._cache) < 100
        view.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        assert "row 1" in rows_of(app)[0] and not view.follow
        assert len(view._cache) < 200


async def test_the_view_keeps_its_place_when_older_messages_arrive() -> None:
    app = ViewApp()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(TranscriptView)
        view.set_more_above(True)
        view.append((n, "agent", f"row {n}") for n in range(101, 201))
        await pilot.pause()
        view.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        assert "earlier messages" in rows_of(app)[0]
        view.prepend(((n, "agent", f"row {n}") for n in range(1, 101)), more_above=False)
        await pilot.pause()
        # the row under the placeholder stays where it was; the placeholder's place is
        # taken by the newest of the older messages
        rows = rows_of(app)
        assert rows[0].strip().endswith("row 100") and rows[1].strip().endswith("row 101")
        view.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        assert rows_of(app)[0].strip().endswith("row 1")
