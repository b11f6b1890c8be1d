"""Screen D, Daemon health: the daemon, slots and tasks, the runtimes, the two-colour
throughput sparkline, and polling once a second only while the screen is shown."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from rich.color import Color
from rich.style import Style
from textual.pilot import Pilot

from hangar.proto import methods
from hangar.testing import wait_for
from hangar.tui import app as app_module
from hangar.tui.app import HangarApp
from hangar.tui.screens import health as health_module
from hangar.tui.screens.health import HealthScreen
from hangar.tui.widgets.throughput import BARS, IDLE_STYLE, ThroughputSparkline
from tests.daemon.helpers import make_agent
from tests.tui.helpers import Served, running, wait_shown

# -- helpers ---------------------------------------------------------------------------------


def drawn_as(app: HangarApp, colour: str) -> str:
    """How the screen draws a named colour (the app's theme turns it into true colour)."""
    return Color.parse(colour).get_truecolor(app.ansi_theme).hex


def bar_colours(app: HangarApp) -> list[set[str]]:
    """Per sparkline row, the colours its bars are drawn in, read from the screen itself."""
    spark = app.screen.query_one(ThroughputSparkline)
    update: Any = app.screen._compositor.render_update(full=True)
    strips = update.strips
    rows = []
    for y in range(spark.region.y, spark.region.bottom):
        colours = set()
        x = 0
        for segment in (seg for chunk in strips[y] for seg in chunk):
            inside = spark.region.x <= x < spark.region.right
            x += segment.cell_length
            if inside and segment.text and set(segment.text) <= set(BARS):
                style = segment.style or Style()
                colours.add(style.color.get_truecolor(app.ansi_theme).hex if style.color else "")
        rows.append(colours)
    return rows


async def wait_colours(pilot: Pilot[Any], row: int, colour: str) -> None:
    app = pilot.app
    assert isinstance(app, HangarApp)
    last: list[set[str]] = []

    async def drawn() -> bool:
        nonlocal last
        await pilot.pause()
        last = bar_colours(app)
        return drawn_as(app, colour) in last[row]

    try:
        await wait_for(drawn, timeout=30, interval=0.05)
    except TimeoutError:
        raise AssertionError(f"row {row} never drawn {colour}: {last}") from None


def polls(app: HangarApp) -> int:
    return sum(1 for m in app.sent if m == methods.DAEMON_HEALTH)


def health_screen(app: HangarApp) -> HealthScreen:
    screen = app.screen
    assert isinstance(screen, HealthScreen)
    return screen


# -- tests -----------------------------------------------------------------------------------


async def test_health_shows_the_daemon_slots_tasks_and_runtimes(served: Served) -> None:
    await make_agent(served.daemon, "busy", ["sleep", "60"], max_concurrent_tasks=1)
    first = await served.call(methods.ISSUE_CREATE, {"title": "one", "assign": "busy"})
    await served.call(methods.ISSUE_CREATE, {"title": "two", "assign": "busy"})

    async def first_runs() -> bool:
        detail = await served.call(methods.TASK_GET, {"task_id": first["task"]["id"]})
        return bool(detail["task"]["status"] == "running")

    await wait_for(first_runs, timeout=30, interval=0.05)

    async with running(served, start="health") as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        text = await wait_shown(pilot, "1/20 used", "1 concurrent", "1 queued", "command", "online")
        assert f"pid {os.getpid()}" in text  # the in-process daemon shares the test's pid
        assert "version" in text and "sqlite" in text and "migrated to" in text
        assert "ok" in text and "failed" in text  # the sparkline's two rows
        assert methods.DAEMON_HEALTH in app.sent and methods.HEALTH in app.sent


async def test_the_sparkline_turns_green_on_a_success_and_red_on_a_failure(
    served: Served,
) -> None:
    await make_agent(served.daemon, "ok", ["true"])
    await make_agent(served.daemon, "bad", ["false"])

    async with running(served, start="health") as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        await wait_shown(pilot, "0/20 used")
        await wait_for(lambda: bar_colours(app)[0], timeout=10)
        green, red, idle = (drawn_as(app, c) for c in ("green", "red", IDLE_STYLE))
        assert bar_colours(app) == [{idle}, {idle}]  # nothing has ended yet: a dim baseline

        await served.call(methods.ISSUE_CREATE, {"title": "passes", "assign": "ok"})
        await wait_colours(pilot, 0, "green")
        assert red not in bar_colours(app)[1]

        await served.call(methods.ISSUE_CREATE, {"title": "fails", "assign": "bad"})
        await wait_colours(pilot, 1, "red")
        assert green in bar_colours(app)[0]  # the success is still there


async def test_polls_each_second_never_overlapping_and_only_while_shown(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a slow daemon: each health answer takes longer than the poll interval
    in_flight = 0
    most = 0
    real_request = HangarApp.request

    async def slow_request(self: HangarApp, call: Any, params: Any) -> Any:
        nonlocal in_flight, most
        if call.method != methods.DAEMON_HEALTH:
            return await real_request(self, call, params)
        in_flight += 1
        most = max(most, in_flight)
        try:
            await asyncio.sleep(0.3)
            return await real_request(self, call, params)
        finally:
            in_flight -= 1

    monkeypatch.setattr(HangarApp, "request", slow_request)
    monkeypatch.setattr(health_module, "POLL_S", 0.2)

    async with running(served, start="health") as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        await wait_for(lambda: polls(app) >= 4, timeout=30)
        assert most == 1  # each poll waited for the one before

        screen = health_screen(app)
        await pilot.press("1")  # another screen in front: polling stops
        await wait_for(lambda: not screen._in_flight, timeout=10)
        stopped_at = polls(app)
        assert screen._timer is None
        # something else happens that takes several poll intervals; no poll in between
        await served.call(methods.ISSUE_CREATE, {"title": "seen on the issues screen"})
        await wait_shown(pilot, "seen on the issues screen")
        await pilot.press("1")
        await wait_shown(pilot, "seen on the issues screen")
        assert polls(app) == stopped_at
        assert screen._timer is None

        await pilot.press("D")  # back: polling resumes
        await wait_for(lambda: polls(app) >= stopped_at + 2, timeout=30)
        assert app.screen is screen
        assert most == 1


async def test_r_polls_at_once(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health_module, "POLL_S", 3600)  # only the first poll comes by itself

    async with running(served, start="health") as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        await wait_shown(pilot, "0/20 used")
        await wait_for(lambda: not health_screen(app)._in_flight, timeout=10)
        before = polls(app)
        await make_agent(served.daemon, "fresh", ["true"], provider="command")
        await pilot.press("r")
        await wait_for(lambda: polls(app) == before + 1, timeout=10)
        await wait_shown(pilot, "command")


def test_the_health_mode_is_registered_under_d() -> None:
    assert app_module.SCREENS_BY_MODE["health"].endswith(":HealthScreen")
    assert "health.refresh" in HangarApp.binding_ids()
    assert "go.health" in HangarApp.binding_ids()
