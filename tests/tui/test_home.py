"""Home (`ainb`): the sessions with their states, attach (handoff and return), new, send,
archive, `g` into Hangar. Sessions are real: the served daemon makes them in a throwaway git
repository on a private tmux server; the handoff runner is replaced so that nothing takes
the test's terminal, and records what it would have run."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.drivers.headless_driver import HeadlessDriver
from textual.widgets import Input

from hangar.proto.rows import SessionRow
from hangar.testing import wait_for
from hangar.tui import handoff
from hangar.tui.app import HangarApp
from hangar.tui.screens.home import (
    ArchiveConfirm,
    HomeScreen,
    SendForm,
    SessionForm,
    SessionState,
    default_repo,
    duration,
    session_cells,
)
from hangar.tui.screens.issues import IssuesScreen
from tests.tui.helpers import Served, running, wait_shown

#: the served daemon's tmux socket name (see hangar.testing.daemon: the home is ".../h")
SOCKET = "hangar-test-h"
#: a loaded machine polls late: states get this long to show
SLOW = 30


@pytest.fixture
def tmux_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private TMUX_TMPDIR for the served daemon's sessions; its server is killed after.
    (Request it before ``served`` so the daemon never sees another.)"""
    tmpdir = Path(tempfile.mkdtemp(prefix="hgh-", dir="/tmp"))
    monkeypatch.setenv("TMUX_TMPDIR", str(tmpdir))
    monkeypatch.delenv("TMUX", raising=False)
    yield tmpdir
    subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True, check=False)
    shutil.rmtree(tmpdir, ignore_errors=True)


@pytest.fixture
def repo(tmp_path: Path, git_env: None) -> Path:
    """A repository on ``main`` with one commit."""
    path = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    (path / "README").write_text("hello\n")
    subprocess.run(["git", "-C", str(path), "add", "README"], check=True)
    subprocess.run(["git", "-C", str(path), "commit", "-q", "-m", "init"], check=True)
    return path


async def kill_tmux_session(name: str) -> None:
    """End a session behind the daemon's back."""
    proc = await asyncio.create_subprocess_exec("tmux", "-L", SOCKET, "kill-session", "-t", name)
    assert await proc.wait() == 0


@pytest.fixture
def handed(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """What the app would have run with the terminal; suspending really happens (the
    headless driver is allowed to suspend, which it does harmlessly)."""
    ran: list[list[str]] = []

    def run_in_terminal(argv: list[str]) -> int:
        ran.append(argv)
        return 0

    monkeypatch.setattr(handoff, "run_in_terminal", run_in_terminal)
    monkeypatch.setattr(HeadlessDriver, "can_suspend", property(lambda self: True))
    return ran


async def make_session(served: Served, repo: Path, name: str, command: list[str], **kw: Any):
    return await served.call(
        "hangar/session_create",
        {"name": name, "repo_path": str(repo), "command": command, **kw},
    )


def home(app: Any) -> HomeScreen:
    assert isinstance(app.screen, HomeScreen), app.screen
    return app.screen


async def sessions_listed(pilot: Any, *names: str) -> HomeScreen:
    await wait_shown(pilot, *names, timeout=SLOW)
    return home(pilot.app)


# -- the list -----------------------------------------------------------------------------------


async def test_home_lists_sessions_with_their_state_and_how_long(
    tmux_dir: Path, served: Served, repo: Path
) -> None:
    await make_session(
        served, repo, "chatty", ["sh", "-c", "while :; do date +%s%N; sleep 0.1; done"]
    )
    await make_session(served, repo, "quiet", ["cat"], idle_threshold_ms=100)
    await make_session(served, repo, "gone", ["cat"])
    await make_session(served, repo, "done", ["sh", "-c", "sleep 2; echo bye"])
    gone = await served.call("hangar/session_get", {"id": "gone"})
    await kill_tmux_session(gone["tmux_session"])

    async with running(served, start="home") as pilot:
        screen = await sessions_listed(pilot, "chatty", "quiet", "gone", "done")

        def state_of(name: str) -> str:
            row = next(r for r in screen.sessions.values() if r.name == name)
            return screen.states[row.id].state

        await wait_for(
            lambda: (
                [state_of(n) for n in ("chatty", "quiet", "gone", "done")]
                == ["busy", "idle", "orphaned", "exited"]
            ),
            timeout=SLOW,
            interval=0.1,
        )
        text = await wait_shown(pilot, "busy", "idle", "orphaned", "exited")
        assert "waiting for input" not in text
        line = next(ln for ln in text.splitlines() if "quiet" in ln)
        assert "cat" in line and "quiet" in line  # the agent and the branch
        assert any(ch.isdigit() for ch in line.split("idle", 1)[1][:8])  # idle for how long
        # the colours are the states'
        table = screen.table
        quiet = next(r.id for r in screen.sessions.values() if r.name == "quiet")
        cell = table.get_cell(quiet, "STATE")
        assert isinstance(cell, Text) and str(cell.style) == "green"
        assert "hangar/session_list" in pilot.app.sent  # type: ignore[attr-defined]
        assert "hangar/session_idle" in pilot.app.sent  # type: ignore[attr-defined]


async def test_an_empty_home_says_how_to_start(tmux_dir: Path, served: Served) -> None:
    async with running(served, start="home") as pilot:
        await wait_shown(pilot, "No sessions: press n", "Plugin screens")


def test_session_cells_colour_every_state_and_say_since_when() -> None:
    row = SessionRow(
        id="01J0000000000000000000SESS",
        workspace_id="w",
        name="s1",
        status="active",
        repo_path="/src/app",
        worktree_path="/src/worktrees/s1",
        branch="s1",
        tmux_session="harness-s1",
        command=["claude"],
        idle_threshold_ms=5000,
        created_at=0,
        updated_at=0,
    )
    colours = {
        "busy": "yellow",
        "idle": "green",
        "waiting_for_input": "magenta",
        "exited": "grey50",
        "orphaned": "red",
    }
    for state, colour in colours.items():
        cells = session_cells(row, SessionState(state, 1_000), 1_000 + 125_000)
        assert cells[0] == "s1" and cells[5] == "claude"
        assert isinstance(cells[1], Text) and str(cells[1].style) == colour
        assert cells[2] == "2m"
    assert duration(59_999) == "59s" and duration(3_600_000) == "1h"
    assert duration(2 * 86_400_000) == "2d"


def test_the_new_session_form_defaults_to_the_repository_of_the_cwd(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "src" / "deep").mkdir(parents=True)
    assert default_repo(tmp_path / "repo" / "src" / "deep") == (tmp_path / "repo").resolve()
    assert default_repo(tmp_path) == tmp_path.resolve()


# -- attach: the terminal goes to tmux and comes back -------------------------------------------


async def test_enter_attaches_through_tmux_and_comes_back_to_the_same_row(
    tmux_dir: Path, served: Served, repo: Path, handed: list[list[str]]
) -> None:
    await make_session(served, repo, "first", ["cat"])
    await make_session(served, repo, "second", ["cat"])
    hint = await served.call("hangar/session_attach_hint", {"id": "second"})
    async with running(served, start="home") as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        screen = await sessions_listed(pilot, "first", "second")
        suspended: list[str] = []
        app.app_suspend_signal.subscribe(screen, lambda _: suspended.append("suspend"))
        app.app_resume_signal.subscribe(screen, lambda _: suspended.append("resume"))
        # the oldest is listed first: move down to "second"
        for _ in range(3):
            if screen.highlighted is not None and screen.highlighted.name == "second":
                break
            await pilot.press("down")
        row_before = screen.table.cursor_row
        await pilot.press("enter")
        await wait_for(lambda: handed, timeout=SLOW)
        assert handed == [hint["argv"]]
        assert handed[0][:3] == ["tmux", "-L", SOCKET] and "attach-session" in handed[0]
        assert suspended == ["suspend", "resume"]
        assert "hangar/session_attach_hint" in app.sent
        # back where the user was: the same screen, the same row
        await pilot.pause()
        assert app.screen is screen and screen.table.cursor_row == row_before
        assert row_before == 1
        assert screen.highlighted is not None and screen.highlighted.name == "second"


async def test_a_browser_tab_says_it_cannot_hand_the_terminal_over(
    tmux_dir: Path,
    served: Served,
    repo: Path,
    handed: list[list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await make_session(served, repo, "webbed", ["cat"])
    async with running(served, start="home") as pilot:
        await sessions_listed(pilot, "webbed")
        monkeypatch.setattr(HeadlessDriver, "is_web", property(lambda self: True))
        await pilot.press("enter")
        await wait_shown(pilot, "has no terminal to hand over", "attach-session")
        assert handed == []
        assert home(pilot.app).table.current_key is not None


async def test_attaching_an_orphaned_session_shows_the_daemons_reason(
    tmux_dir: Path, served: Served, repo: Path, handed: list[list[str]]
) -> None:
    made = await make_session(served, repo, "vanishing", ["cat"])
    await kill_tmux_session(made["tmux_session"])
    async with running(served, start="home") as pilot:
        await sessions_listed(pilot, "vanishing", "orphaned")
        await pilot.press("enter")
        await wait_shown(pilot, "session 'vanishing' is orphaned", "session resume", timeout=SLOW)
        assert "hangar/session_attach_hint" in pilot.app.sent  # type: ignore[attr-defined]
        assert handed == []


async def test_an_attach_that_fails_says_so_and_the_app_comes_back(
    tmux_dir: Path, served: Served, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_session(served, repo, "brief", ["cat"])
    monkeypatch.setattr(handoff, "run_in_terminal", lambda argv: 1)
    monkeypatch.setattr(HeadlessDriver, "can_suspend", property(lambda self: True))
    async with running(served, start="home") as pilot:
        screen = await sessions_listed(pilot, "brief")
        await pilot.press("enter")
        await wait_shown(pilot, "attach-session", "ended with status 1", timeout=SLOW)
        assert pilot.app.screen is screen


# -- n, s, A ------------------------------------------------------------------------------------


async def test_n_starts_a_session_from_the_form(tmux_dir: Path, served: Served, repo: Path) -> None:
    async with running(served, start="home") as pilot:
        await wait_shown(pilot, "No sessions")
        await pilot.press("n")
        await wait_for(lambda: isinstance(pilot.app.screen, SessionForm))
        form = pilot.app.screen
        await pilot.press(*"made-here")
        form.query_one("#repo", Input).value = str(repo)
        form.query_one("#command", Input).value = "cat"
        await pilot.press("ctrl+s")
        await wait_for(lambda: isinstance(pilot.app.screen, HomeScreen), timeout=SLOW)
        assert "hangar/session_create" in pilot.app.sent  # type: ignore[attr-defined]
        held = await served.call("hangar/session_get", {"id": "made-here"})
        assert held["command"] == ["cat"] and held["status"] == "active"
        assert Path(held["repo_path"]) == repo.resolve()
        await wait_shown(pilot, "made-here", timeout=SLOW)


async def test_n_with_a_name_the_daemon_refuses_keeps_the_form_and_says_why(
    tmux_dir: Path, served: Served, repo: Path
) -> None:
    async with running(served, start="home") as pilot:
        await pilot.press("n")
        await wait_for(lambda: isinstance(pilot.app.screen, SessionForm))
        form = pilot.app.screen
        await pilot.press("ctrl+s")
        await wait_shown(pilot, "The name is missing")
        await pilot.press(*"Not A Name!")
        form.query_one("#repo", Input).value = str(repo)
        await pilot.press("ctrl+s")
        text = await wait_shown(pilot, "invalid session name", timeout=SLOW)
        assert "Not A Name!" in text  # what was typed is still there
        assert "hangar/session_create" in pilot.app.sent  # type: ignore[attr-defined]
        assert pilot.app.screen is form
        assert (await served.call("hangar/session_list", {}))["sessions"] == []
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, HomeScreen)


async def test_s_types_text_into_the_highlighted_session(
    tmux_dir: Path, served: Served, repo: Path
) -> None:
    await make_session(served, repo, "echoer", ["cat"])
    async with running(served, start="home") as pilot:
        await sessions_listed(pilot, "echoer")
        await pilot.press("s")
        await wait_for(lambda: isinstance(pilot.app.screen, SendForm))
        await pilot.press("enter")
        await wait_shown(pilot, "Nothing to send")
        await pilot.press(*"hello-from-home", "enter")
        await wait_for(lambda: isinstance(pilot.app.screen, HomeScreen), timeout=SLOW)
        assert "hangar/session_send" in pilot.app.sent  # type: ignore[attr-defined]

        async def echoed() -> bool:
            read = await served.call("hangar/session_read", {"id": "echoer", "lines": 20})
            return "hello-from-home" in read["content"]

        await wait_for(echoed, timeout=SLOW, interval=0.1)


async def test_capital_a_archives_after_a_confirm(
    tmux_dir: Path, served: Served, repo: Path
) -> None:
    await make_session(served, repo, "old", ["cat"])
    async with running(served, start="home") as pilot:
        await sessions_listed(pilot, "old")
        await pilot.press("A")
        await wait_for(lambda: isinstance(pilot.app.screen, ArchiveConfirm))
        await wait_shown(pilot, "Archive session old?")
        await pilot.press("n")  # keep it
        await wait_for(lambda: isinstance(pilot.app.screen, HomeScreen))
        assert "hangar/session_archive" not in pilot.app.sent  # type: ignore[attr-defined]
        await pilot.press("A")
        await wait_for(lambda: isinstance(pilot.app.screen, ArchiveConfirm))
        await pilot.press("y")
        await wait_for(
            lambda: "hangar/session_archive" in pilot.app.sent,  # type: ignore[attr-defined]
            timeout=SLOW,
        )
        await wait_shown(pilot, "No sessions", timeout=SLOW)
        held = await served.call("hangar/session_get", {"id": "old"})
        assert held["status"] == "archived"


async def test_an_archive_the_daemon_refuses_says_why(
    tmux_dir: Path, served: Served, repo: Path
) -> None:
    made = await make_session(served, repo, "dirty", ["cat"])
    (Path(made["worktree_path"]) / "unsaved.txt").write_text("work in progress\n")
    async with running(served, start="home") as pilot:
        await sessions_listed(pilot, "dirty")
        await pilot.press("A")
        await wait_for(lambda: isinstance(pilot.app.screen, ArchiveConfirm))
        await pilot.press("y")
        await wait_shown(pilot, "uncommitted changes", timeout=SLOW)
        held = await served.call("hangar/session_get", {"id": "dirty"})
        assert held["status"] == "active"


async def test_actions_on_no_session_say_there_is_none(tmux_dir: Path, served: Served) -> None:
    async with running(served, start="home") as pilot:
        await wait_shown(pilot, "No sessions")
        await pilot.press("s")
        await wait_shown(pilot, "No session is highlighted")
        await pilot.press("A")
        assert isinstance(pilot.app.screen, HomeScreen)
        sent = list(pilot.app.sent)  # type: ignore[attr-defined]
        assert not {"hangar/session_send", "hangar/session_archive"} & set(sent)


# -- navigation ---------------------------------------------------------------------------------


async def test_g_opens_hangar_and_capital_h_comes_home(tmux_dir: Path, served: Served) -> None:
    await served.call("hangar/issue_create", {"title": "Ship the home screen"})
    async with running(served, start="home") as pilot:
        await wait_shown(pilot, "Sessions", "Plugin screens")
        screen = pilot.app.screen
        await pilot.press("g")
        await wait_for(lambda: isinstance(pilot.app.screen, IssuesScreen))
        await wait_shown(pilot, "Ship the home screen")
        await pilot.press("H")
        await wait_for(lambda: pilot.app.screen is screen)


async def test_an_unknown_key_does_nothing(tmux_dir: Path, served: Served, repo: Path) -> None:
    await make_session(served, repo, "steady", ["cat"])
    async with running(served, start="home") as pilot:
        screen = await sessions_listed(pilot, "steady")
        before = set(pilot.app.sent)  # type: ignore[attr-defined]
        await pilot.press("z", "ctrl+underscore", "f9")
        await pilot.pause()
        assert pilot.app.screen is screen
        assert set(pilot.app.sent) <= before | {"hangar/session_list", "hangar/session_idle"}  # type: ignore[attr-defined]
