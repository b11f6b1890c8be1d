"""Plugin screens: Home lists what the manifests declare; a screen is the plugin's
WireBuffer (burndown's Analytics, real plugin processes), resized with the terminal, fed
the keys Hangar does not keep; a plugin that crashes, stalls, or answers a malformed or
oversized buffer is reported in place with `r` to retry; witr's `w` hands the terminal to
`witr -i` in tmux; the plugins stop when the app does."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.drivers.headless_driver import HeadlessDriver

from hangar.plugins import protocol as p
from hangar.testing import wait_for
from hangar.tui import handoff
from hangar.tui.screens import plugin as plugin_screen
from hangar.tui.screens.home import HomeScreen
from hangar.tui.screens.issues import IssuesScreen
from hangar.tui.screens.plugin import PluginScreen, checked_buffer, key_event
from hangar.tui.widgets.wirebuffer import WireBufferView, row_strip
from tests.tui.helpers import Served, running, wait_shown

FIXTURE_HOME = Path(__file__).resolve().parents[1] / "fixtures" / "plugins" / "home"
SLOW = 30

HEADER = """#!/usr/bin/env python3
import os, sys, time
from pathlib import Path
from hangar.plugins.sdk import Plugin, run
from hangar.plugins.protocol import Cell, Color, Viewport, WireBuffer

DATA = Path(os.environ["AINB_PLUGIN_DATA_DIR"])
DATA.mkdir(parents=True, exist_ok=True)
"""

KEYS = """
class Keys(Plugin):
    name = "tui-keys"
    version = "0.1.0"
    last = "none"

    def render(self, viewport, generation):
        buf = WireBuffer(viewport.width, viewport.height)
        buf.text(0, 0, f"view {viewport.width}x{viewport.height}")
        buf.text(0, 1, f"last key: {self.last}")
        buf.text(0, 2, "red", fg=Color(255, 0, 0))
        return buf

    def handle_key(self, screen_id, key):
        self.last = f"{screen_id} {key.name} {key.char or ''} mods={key.mods}"

run(Keys())
"""

CRASH_ONCE = """
class CrashOnce(Plugin):
    name = "tui-crash"
    version = "0.1.0"

    def render(self, viewport, generation):
        marker = DATA / "crashed-once"
        if not marker.exists():
            marker.write_text("1")
            os._exit(3)
        buf = WireBuffer(viewport.width, viewport.height)
        buf.text(0, 0, "recovered after a crash")
        return buf

run(CrashOnce())
"""

STALL_ONCE = """
class StallOnce(Plugin):
    name = "tui-stall"
    version = "0.1.0"

    def render(self, viewport, generation):
        while not (DATA / "release").exists():
            time.sleep(0.02)
        buf = WireBuffer(viewport.width, viewport.height)
        buf.text(0, 0, "unstuck at last")
        return buf

run(StallOnce())
"""

BAD = """
class Bad(Plugin):
    name = "tui-bad"
    version = "0.1.0"

    def render(self, viewport, generation):
        mode = (DATA / "mode").read_text().strip() if (DATA / "mode").exists() else "garbage"
        if mode == "garbage":
            return {"width": "wide", "cells": "none"}
        if mode == "oversized":
            buf = WireBuffer(viewport.width * 4, viewport.height)
            buf.text(0, 0, "too wide")
            return buf
        if mode == "raise":
            raise RuntimeError("the data file is gone")
        buf = WireBuffer(viewport.width, viewport.height)
        buf.text(0, 0, "behaving now")
        return buf

run(Bad())
"""


def make_plugin(root: Path, plugin_id: str, body: str, extra: str = "") -> Path:
    d = root / plugin_id
    d.mkdir(parents=True)
    exe = d / plugin_id
    exe.write_text(HEADER + textwrap.dedent(body))
    exe.chmod(0o755)
    (d / "manifest.toml").write_text(
        f'[plugin]\nname = "{plugin_id}"\nversion = "0.1.0"\nabi_version = 2\n'
        f'description = "test plugin {plugin_id}"\n\n[provides]\nscreens = ["main"]\n{extra}'
    )
    return d


@pytest.fixture
def plugins_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "plugins"
    d.mkdir()
    monkeypatch.setenv("AINB_PLUGINS_DIR", str(d))
    make_plugin(d, "tui-keys", KEYS)
    make_plugin(d, "tui-crash", CRASH_ONCE)
    make_plugin(d, "tui-stall", STALL_ONCE)
    make_plugin(d, "tui-bad", BAD)
    return d


def data_dir(served: Served, plugin_id: str) -> Path:
    d = served.paths.root / "plugins" / plugin_id / "data"
    d.mkdir(parents=True, exist_ok=True)
    return d


async def open_plugin(pilot: Any, plugin_id: str, screen_id: str = "main") -> PluginScreen:
    key = f"{plugin_id}/{screen_id}"
    await wait_for(
        lambda: isinstance(pilot.app.screen, HomeScreen) and key in pilot.app.screen.screens,
        timeout=SLOW,
    )
    home: HomeScreen = pilot.app.screen
    table = home.plugin_table
    table.focus()
    table.move_cursor(row=table.get_row_index(key), animate=False)
    await pilot.press("enter")
    await wait_for(lambda: isinstance(pilot.app.screen, PluginScreen), timeout=SLOW)
    screen = pilot.app.screen
    assert isinstance(screen, PluginScreen)
    return screen


# -- Home lists the screens ---------------------------------------------------------------------


async def test_home_lists_the_screens_the_manifests_declare(
    plugins_dir: Path, served: Served
) -> None:
    async with running(served, start="home") as pilot:
        text = await wait_shown(pilot, "Plugin screens", "Analytics", "burndown", "Witr", "witr")
        assert "tui-keys" in text and "test plugin tui-keys" in text
        # nothing started yet: discovery only read the manifests
        home = pilot.app.screen
        assert isinstance(home, HomeScreen) and home.plugins is not None
        assert home.plugins.host.pid("burndown") is None


# -- a reference plugin, drawn ------------------------------------------------------------------


async def test_burndowns_analytics_screen_is_drawn_and_takes_its_keys(
    plugins_dir: Path, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "user-home"
    shutil.copytree(FIXTURE_HOME, home)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TZ", "UTC")
    async with running(served, start="home") as pilot:
        screen = await open_plugin(pilot, "burndown", "analytics")
        text = await wait_shown(pilot, "Analytics — plugin burndown", "2025-05-27", timeout=SLOW)
        assert "30.0k tokens" in text
        assert screen.view.buffer is not None
        assert (screen.view.buffer.width, screen.view.buffer.height) == tuple(screen.view.size)
        await pilot.press("w")  # burndown's weekly tab: the key went to the plugin
        await wait_shown(pilot, "week of", timeout=SLOW)
        await pilot.press("escape")
        await wait_for(lambda: isinstance(pilot.app.screen, HomeScreen))


# -- viewport, keys, navigation -----------------------------------------------------------------


async def test_the_view_is_painted_at_its_size_and_again_when_it_changes(
    plugins_dir: Path, served: Served
) -> None:
    async with running(served, start="home") as pilot:
        screen = await open_plugin(pilot, "tui-keys")
        width, height = screen.view.size
        await wait_shown(pilot, f"view {width}x{height}", "red", timeout=SLOW)
        await pilot.resize_terminal(100, 30)
        await wait_for(lambda: tuple(screen.view.size) != (width, height), timeout=SLOW)
        width, height = screen.view.size
        assert width == 100
        await wait_shown(pilot, f"view {width}x{height}", timeout=SLOW)


async def test_keys_hangar_does_not_keep_go_to_the_plugin(
    plugins_dir: Path, served: Served
) -> None:
    async with running(served, start="home") as pilot:
        await open_plugin(pilot, "tui-keys")
        await wait_shown(pilot, "last key: none", timeout=SLOW)
        await pilot.press("x")
        await wait_shown(pilot, "last key: main char x mods=0", timeout=SLOW)
        await pilot.press("r")  # retry is only Hangar's after a failure
        await wait_shown(pilot, "last key: main char r mods=0", timeout=SLOW)
        await pilot.press("tab")
        await wait_shown(pilot, "last key: main tab  mods=0", timeout=SLOW)
        await pilot.press("ctrl+left")
        await wait_shown(pilot, f"last key: main left  mods={p.CTRL}", timeout=SLOW)
        await pilot.press("1")  # the app's navigation stays the app's
        await wait_for(lambda: isinstance(pilot.app.screen, IssuesScreen))
        await pilot.press("H")
        await wait_for(lambda: isinstance(pilot.app.screen, PluginScreen))
        await wait_shown(pilot, "last key: main left", timeout=SLOW)
        await pilot.press("escape")
        await wait_for(lambda: isinstance(pilot.app.screen, HomeScreen))


def test_textual_keys_become_protocol_keys() -> None:
    assert key_event("a", "a") == p.key("a")
    assert key_event("A", "A") == p.key("A")
    assert key_event("question_mark", "?") == p.key("?")
    assert key_event("space", " ") == p.key(" ")
    assert key_event("ctrl+a", "\x01") == p.key("a", p.CTRL)
    assert key_event("enter", "\r") == p.key("enter")
    assert key_event("escape", "\x1b") == p.key("esc")
    assert key_event("shift+tab", None) == p.KeyEvent(p.BackTab(), p.SHIFT)
    assert key_event("pagedown", None) == p.key("page_down")
    assert key_event("ctrl+shift+up", None) == p.key("up", p.CTRL | p.SHIFT)
    assert key_event("f5", None) == p.key("f5")
    assert key_event("hyper+x", None) is None


# -- what a plugin paints, checked --------------------------------------------------------------


def test_a_buffer_larger_than_its_view_is_refused_and_a_fitting_one_clipped() -> None:
    viewport = p.Viewport(10, 2)
    fine = p.WireBuffer(10, 2)
    fine.text(0, 0, "hi\x1b[2J")
    fine.cells.append((p.Coord(12, 0), p.Cell("x")))  # outside: clipped
    buffer = checked_buffer("t", p.to_wire(p.RenderResult(fine)), viewport)
    assert buffer.lines()[0].startswith("hi") and "\x1b" not in "".join(buffer.lines())
    assert all(c.x < 10 for c, _ in buffer.cells)
    with pytest.raises(plugin_screen.BadBuffer, match="40x2 buffer for a 10x2 view"):
        checked_buffer("t", p.to_wire(p.RenderResult(p.WireBuffer(40, 2))), viewport)
    crowded = p.WireBuffer(10, 2, [(p.Coord(0, 0), p.Cell("x"))] * 21)
    with pytest.raises(plugin_screen.BadBuffer, match="21 cells"):
        checked_buffer("t", p.to_wire(p.RenderResult(crowded)), viewport)


def test_a_row_keeps_its_columns_with_wide_and_hidden_cells() -> None:
    cells = {0: p.Cell("漢"), 1: p.Cell("x"), 2: p.Cell("a"), 4: p.Cell("s", modifier=p.HIDDEN)}
    strip = row_strip(cells, 6)
    assert strip.cell_length == 6
    assert strip.text == "漢a   "  # the cell a wide character covers is not drawn
    edge = row_strip({3: p.Cell("字")}, 4)  # cut by the right edge
    assert edge.cell_length == 4 and edge.text == "    "
    styled = row_strip({0: p.Cell("b", p.Color(1, 2, 3), None, p.BOLD | p.UNDERLINED)}, 1)
    style = next(iter(styled)).style
    assert style is not None and style.bold and style.underline
    assert style.color is not None and style.color.triplet == (1, 2, 3)


# -- failures: inline, with retry, never fatal --------------------------------------------------


async def test_a_plugin_that_crashes_is_reported_and_r_brings_it_back(
    plugins_dir: Path, served: Served
) -> None:
    async with running(served, start="home") as pilot:
        screen = await open_plugin(pilot, "tui-crash")
        await wait_shown(pilot, "plugin tui-crash", "exited with status 3", "r tries again")
        assert screen.problem is not None
        await pilot.press("r")
        await wait_shown(pilot, "recovered after a crash", timeout=SLOW)
        assert screen.problem is None
        assert pilot.app.is_running


async def test_a_plugin_that_stalls_is_reported_and_r_tries_again(
    plugins_dir: Path, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plugin_screen, "RENDER_TIMEOUT_S", 0.5)
    monkeypatch.setattr(plugin_screen, "FIRST_RENDER_TIMEOUT_S", 1.0)
    async with running(served, start="home") as pilot:
        await open_plugin(pilot, "tui-stall")
        await wait_shown(pilot, "did not paint within 1 s", "r tries again", timeout=SLOW)
        await pilot.press("x")  # keys wait for a retry; nothing breaks
        (data_dir(served, "tui-stall") / "release").write_text("go")
        monkeypatch.setattr(plugin_screen, "FIRST_RENDER_TIMEOUT_S", float(SLOW))
        await pilot.press("r")
        await wait_shown(pilot, "unstuck at last", timeout=SLOW)


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("garbage", "returned an invalid render result"),
        ("oversized", "buffer for a"),
        ("raise", "the data file is gone"),
    ],
)
async def test_a_malformed_oversized_or_refused_buffer_is_reported_not_drawn(
    plugins_dir: Path, served: Served, mode: str, said: str
) -> None:
    (data_dir(served, "tui-bad") / "mode").write_text(mode)
    async with running(served, start="home") as pilot:
        screen = await open_plugin(pilot, "tui-bad")
        text = await wait_shown(pilot, said, "r tries again", timeout=SLOW)
        assert "too wide" not in text
        assert screen.view.buffer is None
        (data_dir(served, "tui-bad") / "mode").write_text("fine")
        await pilot.press("r")
        await wait_shown(pilot, "behaving now", timeout=SLOW)


# -- witr: the terminal goes to `witr -i` in tmux -----------------------------------------------


async def test_witrs_w_hands_the_terminal_to_witr_in_tmux_and_comes_back(
    plugins_dir: Path, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "witr").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "witr").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    quiet: list[list[str]] = []
    terminal: list[list[str]] = []

    async def run_quiet(argv: list[str]) -> tuple[int, str]:
        quiet.append(argv)
        return (1, "can't find session") if "has-session" in argv else (0, "")

    def run_in_terminal(argv: list[str]) -> int:
        terminal.append(argv)
        return 0

    monkeypatch.setattr(handoff, "run_quiet", run_quiet)
    monkeypatch.setattr(handoff, "run_in_terminal", run_in_terminal)
    monkeypatch.setattr(HeadlessDriver, "can_suspend", property(lambda self: True))
    async with running(served, start="home") as pilot:
        screen = await open_plugin(pilot, "witr", "witr")
        await wait_shown(pilot, "No lookup yet", "browse every process", timeout=SLOW)
        renders = screen.renders
        await pilot.press("w")
        await wait_for(lambda: terminal, timeout=SLOW)
        assert quiet == [
            ["tmux", "has-session", "-t", "=ainb-witr"],
            ["tmux", "new-session", "-d", "-s", "ainb-witr", "witr", "-i"],
        ]
        assert terminal == [["tmux", "attach-session", "-t", "=ainb-witr"]]
        # back on the same screen, painted again
        assert pilot.app.screen is screen
        await wait_for(lambda: screen.renders > renders, timeout=SLOW)


async def test_witrs_w_without_witr_installed_says_so(
    plugins_dir: Path, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal: list[list[str]] = []
    monkeypatch.setattr(handoff, "run_in_terminal", lambda argv: terminal.append(argv) or 0)
    async with running(served, start="home") as pilot:
        await open_plugin(pilot, "witr", "witr")
        await wait_shown(pilot, "No lookup yet", timeout=SLOW)
        empty = tmp_path / "empty-bin"
        empty.mkdir()
        monkeypatch.setenv("PATH", str(empty))
        await pilot.press("w")
        await wait_shown(pilot, "witr is not installed")
        assert terminal == []


async def test_in_a_browser_tab_witrs_w_says_what_to_run_instead(
    plugins_dir: Path, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal: list[list[str]] = []
    monkeypatch.setattr(handoff, "run_in_terminal", lambda argv: terminal.append(argv) or 0)
    async with running(served, start="home") as pilot:
        await open_plugin(pilot, "witr", "witr")
        await wait_shown(pilot, "No lookup yet", timeout=SLOW)
        monkeypatch.setattr(HeadlessDriver, "is_web", property(lambda self: True))
        await pilot.press("w")
        await wait_shown(pilot, "has no terminal to hand over", "ainb-witr")
        assert terminal == []


# -- the plugins end with the app ---------------------------------------------------------------


async def test_the_plugins_stop_when_the_app_ends(plugins_dir: Path, served: Served) -> None:
    async with running(served, start="home") as pilot:
        screen = await open_plugin(pilot, "tui-keys")
        await wait_shown(pilot, "last key: none", timeout=SLOW)
        pid = screen.plugins.host.pid("tui-keys")
        assert pid is not None and _alive(pid)
    await wait_for(lambda: not _alive(pid), timeout=SLOW)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def test_the_view_says_what_it_shows() -> None:
    view = WireBufferView()
    assert view.lines() == []


# -- the handoff's own runners, for real --------------------------------------------------------


class _TerminalApp:
    """What ``hand_over`` needs of an app: not a browser tab, and a suspend."""

    is_web = False

    @contextlib.contextmanager
    def suspend(self) -> Iterator[None]:
        yield


async def test_tmux_handoff_makes_the_session_once_then_attaches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmux_dir = Path(tempfile.mkdtemp(prefix="hgw-", dir="/tmp"))
    monkeypatch.setenv("TMUX_TMPDIR", str(tmux_dir))
    monkeypatch.delenv("TMUX", raising=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "witr").write_text('#!/bin/sh\necho "witr $*"\nexec sleep 60\n')
    (bin_dir / "witr").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    terminal: list[list[str]] = []
    monkeypatch.setattr(handoff, "run_in_terminal", lambda argv: terminal.append(argv) or 0)
    app: Any = _TerminalApp()

    async def pane_pid(session: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            "tmux", "display-message", "-p", "-t", f"={session}:", "#{pane_pid}",
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await proc.communicate()
        return out.decode().strip()

    try:
        assert await handoff.tmux_handoff(app, "ainb-witr", ["witr", "-i"]) is None
        first = await pane_pid("ainb-witr")
        assert first
        assert await handoff.tmux_handoff(app, "ainb-witr", ["witr", "-i"]) is None
        assert await pane_pid("ainb-witr") == first  # kept, not made again
        assert terminal == [["tmux", "attach-session", "-t", "=ainb-witr"]] * 2
        # a one-word command still runs as an argv
        assert await handoff.tmux_handoff(app, "ainb-one", ["witr"]) is None
        assert await pane_pid("ainb-one")
    finally:
        proc = await asyncio.create_subprocess_exec("tmux", "kill-server")
        await proc.wait()
        shutil.rmtree(tmux_dir, ignore_errors=True)


async def test_the_quiet_runner_reports_status_and_stderr() -> None:
    assert await handoff.run_quiet(["sh", "-c", "echo oops >&2; exit 3"]) == (3, "oops")
    status, why = await handoff.run_quiet(["/nonexistent/tool"])
    assert status == 127 and why


def test_the_terminal_runner_reports_status() -> None:
    assert handoff.run_in_terminal(["true"]) == 0
    assert handoff.run_in_terminal(["false"]) == 1
    assert handoff.run_in_terminal(["/nonexistent/tool"]) == 127
