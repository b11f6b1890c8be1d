"""Screen 5, Autopilots: the list and the highlighted one's runs from the daemon, the form
with its live preview, run now and its skip, enable/disable, and runs folded from events."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input, TextArea

from hangar.testing import wait_for
from hangar.tui.screens.autopilot_form import AutopilotForm
from hangar.tui.screens.autopilots import AutopilotsScreen
from tests.tui.helpers import Served, running, wait_shown


async def agent(served: Served, name: str, *command: str) -> None:
    await served.call(
        "hangar/agent_create", {"name": name, "provider": "command", "command": list(command)}
    )


async def autopilot(served: Served, name: str, agent_name: str, **fields: Any) -> dict[str, Any]:
    params = {
        "name": name,
        "agent": agent_name,
        "cron": "0 3 * * *",
        "instructions": "Update the dependencies",
        **fields,
    }
    made: dict[str, Any] = await served.call("hangar/autopilot_create", params)
    return made


async def test_the_list_and_the_next_fires_come_from_the_daemon(served: Served) -> None:
    await agent(served, "bot", "true")
    await autopilot(served, "nightly-deps", "bot", timezone="Europe/Berlin")
    await autopilot(served, "weekly-audit", "bot", cron="0 9 * * 1", enabled=False)
    async with running(served, start="autopilots") as pilot:
        text = await wait_shown(
            pilot, "nightly-deps", "0 3 * * * Europe/Berlin", "weekly-audit", "0 9 * * 1"
        )
        rows: dict[str, list[str]] = {}
        for line in text.splitlines():  # the table's lines come first
            rows.setdefault(line.split()[0] if line.strip() else "", line.split())
        assert "on" in rows["nightly-deps"] and "off" in rows["weekly-audit"]
        # the highlighted one's next five fires, in its own zone
        text = await wait_shown(pilot, "next: ", "03:00", "Recent runs")
        assert text.count("03:00") >= 5
        assert {"hangar/autopilots_list", "hangar/autopilot_get"} <= set(pilot.app.sent)


async def test_a_creates_with_a_live_preview_and_a_bad_schedule_keeps_the_form(
    served: Served,
) -> None:
    await agent(served, "bot", "true")
    async with running(served, start="autopilots") as pilot:
        await wait_shown(pilot, "No autopilots yet: press a")
        await pilot.press("a")
        await wait_for(lambda: isinstance(pilot.app.screen, AutopilotForm))
        form = pilot.app.screen
        assert isinstance(form, AutopilotForm)
        form.query_one("#name", Input).value = "nightly-deps"
        form.query_one("#instructions", TextArea).text = "Update the dependencies"
        form.query_one("#cron", Input).focus()
        await pilot.press(*"0 25 * * *")  # typed: one preview, after the last key
        await wait_shown(pilot, "cron field hour value 25", "out of range 0-23")
        await pilot.press("ctrl+s")  # the daemon refuses it, word for word, in the form
        await wait_for(lambda: "out of range" in str(form.query_one(".form-error").render()))
        assert isinstance(pilot.app.screen, AutopilotForm)
        assert pilot.app.sent.count("hangar/autopilot_create") == 1
        await pilot.press(*["backspace"] * 8, *"3 * * *")  # 0 25 * * * → 0 3 * * *
        await wait_shown(pilot, "next fires (UTC)", "03:00")
        assert form.preview_result is not None and len(form.preview_result.upcoming) == 5
        # debounced: far fewer previews than keystrokes
        assert pilot.app.sent.count("hangar/cron_preview") < 8
        await pilot.press("ctrl+s")
        await wait_for(lambda: isinstance(pilot.app.screen, AutopilotsScreen))
        await wait_shown(pilot, "nightly-deps", "created autopilot nightly-deps")
    listed = await served.call("hangar/autopilots_list")
    assert [(a["name"], a["cron_expr"]) for a in listed["autopilots"]] == [
        ("nightly-deps", "0 3 * * *")
    ]


async def test_e_edits_the_highlighted_autopilot(served: Served) -> None:
    await agent(served, "bot", "true")
    await autopilot(served, "nightly-deps", "bot")
    async with running(served, start="autopilots") as pilot:
        await wait_shown(pilot, "nightly-deps", "next: ")
        await pilot.press("e")
        await wait_for(lambda: isinstance(pilot.app.screen, AutopilotForm))
        form = pilot.app.screen
        assert form.query_one("#cron", Input).value == "0 3 * * *"  # filled in
        form.query_one("#cron", Input).value = "30 4 * * *"
        await wait_shown(pilot, "04:30")
        await pilot.press("ctrl+s")
        await wait_shown(pilot, "saved autopilot nightly-deps", "30 4 * * *")
    shown = await served.call("hangar/autopilot_get", {"autopilot": "nightly-deps"})
    assert shown["autopilot"]["cron_expr"] == "30 4 * * *"
    assert shown["autopilot"]["instructions"] == "Update the dependencies"  # untouched


async def test_r_runs_now_and_says_skipped_while_a_run_is_unfinished(served: Served) -> None:
    await agent(served, "slow", "sleep", "30")
    await autopilot(served, "nightly-deps", "slow")
    async with running(served, start="autopilots") as pilot:
        await wait_shown(pilot, "nightly-deps", "next: ")
        await pilot.press("r")
        await wait_shown(pilot, "running: task", "manual")  # the run is listed at once
        await pilot.press("r")
        await wait_shown(pilot, "skipped: ")
        assert pilot.app.sent.count("hangar/autopilot_run") == 2
    runs = await served.call("hangar/autopilot_runs", {"autopilot": "nightly-deps"})
    assert len(runs["runs"]) == 1


async def test_d_disables_and_enables(served: Served) -> None:
    await agent(served, "bot", "true")
    await autopilot(served, "nightly-deps", "bot")
    async with running(served, start="autopilots") as pilot:
        await wait_shown(pilot, "nightly-deps", "next: ")
        await pilot.press("d")
        text = await wait_shown(pilot, "nightly-deps disabled", "off: d enables it")
        assert "next: " not in text
        got = await served.call("hangar/autopilot_get", {"autopilot": "nightly-deps"})
        assert got["autopilot"]["enabled"] is False
        await pilot.press("d")
        await wait_shown(pilot, "nightly-deps enabled", "next: ")
    got = await served.call("hangar/autopilot_get", {"autopilot": "nightly-deps"})
    assert got["autopilot"]["enabled"] is True


async def test_a_run_started_elsewhere_shows_up_and_finishes_from_events(served: Served) -> None:
    await agent(served, "bot", "true")
    await autopilot(served, "nightly-deps", "bot")
    async with running(served, start="autopilots") as pilot:
        await wait_shown(pilot, "nightly-deps", "next: ")
        gets = pilot.app.sent.count("hangar/autopilot_get")
        made = await served.call("hangar/autopilot_run", {"autopilot": "nightly-deps"})
        run_id = made["run"]["id"][-8:].lower()
        await wait_shown(pilot, run_id, "completed", "done")  # autopilot_run_changed, twice
        assert pilot.app.sent.count("hangar/autopilot_get") > gets
        await pilot.press("enter")  # the newest run's task
        await wait_for(lambda: pilot.app.current_task_id == made["task_id"])
