"""Screen 1, Issues: the list, the filter chips, create, assign, open — and what every
screen shares: the keymap, the palette, the keys panel, the size notice, the daemon banner."""

from __future__ import annotations

from pathlib import Path

import pytest

from hangar.core.clock import SystemClock
from hangar.core.ids import UlidGen
from hangar.core.paths import HangarPaths
from hangar.testing import daemon_in_process, wait_for
from hangar.tui.app import HangarApp
from hangar.tui.screens.issues import IssuesScreen
from hangar.tui.screens.modals import AgentPicker, IssueForm
from tests.tui.helpers import Served, running, shown, wait_shown


async def test_the_issues_screen_lists_the_workspaces_issues(served: Served) -> None:
    await served.call("hangar/issue_create", {"title": "Fix the flaky login test"})
    async with running(served) as pilot:
        text = await wait_shown(pilot, "Fix the flaky login test", "open")
        assert "All" in text and "Agents" in text
        assert pilot.app.sent.count("hangar/issues_list") >= 1


async def test_an_empty_workspace_says_how_to_start(served: Served) -> None:
    async with running(served) as pilot:
        await wait_shown(pilot, "No issues yet: press c to file one.")


async def test_the_chips_filter_by_who_is_assigned(served: Served) -> None:
    await served.call("hangar/agent_create", {"name": "bot", "provider": "command",
                                              "command": ["sleep", "30"]})  # fmt: skip
    await served.call("hangar/issue_create", {"title": "for the bot", "assign": "bot"})
    await served.call("hangar/issue_create", {"title": "for nobody"})
    async with running(served) as pilot:
        await wait_shown(pilot, "for the bot", "for nobody")
        await pilot.press("f")  # Members
        text = await wait_shown(pilot, "No issues assigned to members")
        assert "for the bot" not in text
        await pilot.press("f")  # Agents
        text = await wait_shown(pilot, "for the bot")
        assert "for nobody" not in text
        assert pilot.app.sent.count("hangar/issues_list") >= 3


async def test_c_creates_an_issue_and_the_form_says_what_is_missing(served: Served) -> None:
    async with running(served) as pilot:
        await wait_shown(pilot, "No issues yet")
        await pilot.press("c")
        await wait_for(lambda: isinstance(pilot.app.screen, IssueForm))
        await pilot.press("ctrl+s")  # nothing typed
        await wait_shown(pilot, "The title is missing")
        await pilot.press(*"x" * 3)
        form = pilot.app.screen
        form.query_one("#title").value = "y" * 501  # over the daemon's limit
        await pilot.press("ctrl+s")
        await wait_shown(pilot, "the limit is 500")  # the daemon's reason, inside the form
        assert isinstance(pilot.app.screen, IssueForm)
        form.query_one("#title").value = ""
        await pilot.press(*"Write the docs", "enter")
        await wait_for(lambda: isinstance(pilot.app.screen, IssuesScreen))
        await wait_shown(pilot, "Write the docs")
    listed = await served.call("hangar/issues_list", {})
    assert [i["title"] for i in listed["issues"]] == ["Write the docs"]


async def test_a_assigns_through_the_picker_and_queues_a_task(served: Served) -> None:
    await served.call("hangar/agent_create", {"name": "bot", "provider": "command",
                                              "command": ["sleep", "30"]})  # fmt: skip
    made = await served.call("hangar/issue_create", {"title": "hand me over"})
    async with running(served) as pilot:
        await wait_shown(pilot, "hand me over")
        await pilot.press("a")
        await wait_for(lambda: isinstance(pilot.app.screen, AgentPicker))
        await wait_shown(pilot, "● bot", "● you")
        await pilot.press("slash", *"bo", "enter", "enter")  # filter, then pick the bot
        await wait_shown(pilot, "assigned to bot")
        assert "hangar/issue_update" in pilot.app.sent
    tasks = await served.call("hangar/tasks_list", {"issue_id": made["issue"]["id"]})
    assert [t["status"] for t in tasks["tasks"]] in (["queued"], ["dispatched"], ["running"])
    # the pick is remembered: next time it is pinned on top
    assert "recent_picks" in served.paths.tui_state.read_text()


async def test_enter_opens_the_issues_latest_task(served: Served) -> None:
    await served.call("hangar/agent_create", {"name": "bot", "provider": "command",
                                              "command": ["sleep", "30"]})  # fmt: skip
    made = await served.call("hangar/issue_create", {"title": "has a task", "assign": "bot"})
    await served.call("hangar/issue_create", {"title": "has none"})
    async with running(served) as pilot:
        await wait_shown(pilot, "has a task", "has none")
        await pilot.press("enter")  # the newest, "has none", is highlighted
        await wait_shown(pilot, "no task yet: press a")
        await pilot.press("down", "enter")
        await wait_for(lambda: pilot.app.current_task_id == made["task"]["id"])


async def test_keys_are_remapped_from_the_config_and_typos_are_reported(served: Served) -> None:
    served.paths.config.write_text(
        '[keymap]\n"issue.create" = "n"\n"issue.nonsense" = "z"\n', encoding="utf-8"
    )
    async with running(served) as pilot:
        await wait_shown(pilot, "no binding 'issue.nonsense'")
        await pilot.press("n")
        await wait_for(lambda: isinstance(pilot.app.screen, IssueForm))


async def test_the_palette_and_the_keys_panel_name_the_screens_commands(served: Served) -> None:
    async with running(served) as pilot:
        app = pilot.app
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"issue: create", "issue: assign", "go: issues"} <= set(titles), titles
        await pilot.press("question_mark")
        await wait_shown(pilot, "Create", "Assign")
        assert app.screen.query("HelpPanel")
        await pilot.press("question_mark")
        await wait_for(lambda: not app.screen.query("HelpPanel"))


async def test_an_unknown_key_does_nothing(served: Served) -> None:
    await served.call("hangar/issue_create", {"title": "still here"})
    async with running(served) as pilot:
        before = await wait_shown(pilot, "still here")
        sent = list(pilot.app.sent)
        await pilot.press("z", "Z", "ctrl+b", "9")
        await pilot.pause()
        assert isinstance(pilot.app.screen, IssuesScreen)
        assert list(pilot.app.sent) == sent
        assert "still here" in shown(pilot.app) and before


async def test_a_small_terminal_shows_a_notice_not_a_broken_layout(served: Served) -> None:
    await served.call("hangar/issue_create", {"title": "hidden while small"})
    async with running(served, size=(60, 20)) as pilot:
        text = await wait_shown(pilot, "make me bigger", "60x20")
        assert "hidden while small" not in text
        # the app keeps running; a resize brings it back
        await pilot.resize_terminal(120, 40)
        await wait_shown(pilot, "hidden while small")


async def test_the_ui_says_when_the_daemon_is_gone_and_heals_when_it_is_back(
    hangar_home: Path, migrated_db: Path
) -> None:
    from tests.daemon.helpers import seed_home

    home = seed_home(hangar_home / "h", migrated_db)
    paths = HangarPaths(home)
    app = HangarApp(paths=paths, start="issues", autostart=False)
    daemon_cm = daemon_in_process(home, clock=SystemClock(), ids=UlidGen(), serve=True)
    daemon = await daemon_cm.__aenter__()
    await daemon.call("hangar/issue_create", {"title": "before the outage"})
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_shown(pilot, "before the outage")
        await daemon_cm.__aexit__(None, None, None)
        text = await wait_shown(pilot, "daemon unreachable — reconnecting")
        assert "before the outage" in text  # what was shown stays
        async with daemon_in_process(home, clock=SystemClock(), ids=UlidGen(), serve=True) as d2:
            await d2.call("hangar/issue_create", {"title": "during the outage"})
            text = await wait_shown(pilot, "during the outage", timeout=15)
            assert "daemon unreachable" not in text


async def test_the_picker_offers_an_agent_made_after_the_last_snapshot(served: Served) -> None:
    await served.call("hangar/issue_create", {"title": "pick someone new"})
    async with running(served) as pilot:
        await wait_shown(pilot, "pick someone new")
        # no event says an agent was made: only asking when the picker opens can know
        await served.call("hangar/agent_create", {"name": "newcomer", "provider": "command",
                                                  "command": ["true"]})  # fmt: skip
        await pilot.press("a")
        await wait_for(lambda: isinstance(pilot.app.screen, AgentPicker))
        await wait_shown(pilot, "● newcomer", "● you")


async def test_a_snapshot_answered_after_the_screen_is_gone_is_dropped_not_raised(
    served: Served,
) -> None:
    """Quitting while a snapshot is on its way must not end in a traceback; while the
    screen is up, the same failure is a bug and still raises."""
    from textual.css.query import NoMatches

    from hangar.tui.screens.issues import IssuesScreen

    async with running(served) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, IssuesScreen)

        async def lost_its_widgets() -> None:
            raise NoMatches("No nodes match '#issues'")

        screen.refresh_snapshot = lost_its_widgets  # type: ignore[method-assign]
        with pytest.raises(NoMatches):
            await screen.pull_snapshot()  # up: a real bug, not hidden
        pilot.app._exit = True  # what quitting sets before the screens come down
        try:
            assert screen.gone
            await screen.pull_snapshot()  # gone: nothing to draw on, nothing raised
        finally:
            pilot.app._exit = False
