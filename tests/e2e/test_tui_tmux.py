"""Tripwires: the real `hangar tui` / `ainb` in a detached tmux pane on a private tmux server,
against the real daemon over its real socket, read back with `capture-pane` (polled to a
deadline, never sleep-and-hope)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.e2e.harness import Hangar, make_repo, wait_until

ENTRY = "from hangar.cli.main import {fn}; {fn}()"


@dataclass
class Pane:
    hangar: Hangar
    name: str

    def tmux(self, *args: str) -> str:
        res = subprocess.run(
            ["tmux", *args], env=self.hangar.env, capture_output=True, text=True, timeout=20
        )
        assert res.returncode == 0, res.stderr
        return res.stdout

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def wait(self, *needles: str, timeout: float = 30) -> str:
        last = ""

        def shown() -> str:
            nonlocal last
            last = self.text()
            return last if all(n in last for n in needles) else ""

        try:
            return str(wait_until(shown, timeout=timeout, interval=0.2))
        except AssertionError:
            raise AssertionError(f"not shown: {needles!r}\n--- pane ---\n{last}") from None

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.name, "-l", text)


def _start(hangar: Hangar, name: str, fn: str, *args: str) -> Pane:
    argv = [sys.executable, "-c", ENTRY.format(fn=fn), *args]
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "40", "-c", str(hangar.tmp),
         "--", *argv],
        env=hangar.env, check=True, timeout=20,
    )  # fmt: skip
    return Pane(hangar, name)


@pytest.fixture
def tui(hangar: Hangar) -> Iterator[Pane]:
    hangar.run("daemon", "start")
    pane = _start(hangar, "ui", "hangar_main", "tui")
    try:
        yield pane
    finally:
        subprocess.run(["tmux", "kill-server"], env=hangar.env, capture_output=True, timeout=20)


def test_an_issue_filed_in_the_ui_is_listed_by_the_cli(hangar: Hangar, tui: Pane) -> None:
    tui.wait("No issues yet: press c to file one.")
    tui.keys("c")
    tui.wait("New issue")
    tui.type("Filed from the terminal UI")
    tui.keys("Enter")
    tui.wait("Filed from the terminal UI", "open")
    listed = hangar.run("issue", "list").out
    assert "Filed from the terminal UI" in listed


def test_a_task_run_by_the_cli_shows_up_and_finishes_on_screen(hangar: Hangar, tui: Pane) -> None:
    repo = make_repo(hangar.tmp / "repo")
    hangar.agent("bot", "claude", "happy", "--repo", str(repo))
    tui.wait("No issues yet")
    made = hangar.assign("bot", "Run by the CLI")
    tui.wait("Run by the CLI")
    hangar.wait_done(made["task"]["id"])
    tui.wait("Run by the CLI", "done")


def test_the_ui_survives_the_daemon_dying_and_heals_when_it_is_back(
    hangar: Hangar, tui: Pane
) -> None:
    hangar.run("issue", "create", "--title", "Before the crash", "--no-repo")
    tui.wait("Before the crash")
    hangar.kill_daemon()
    text = tui.wait("daemon unreachable — reconnecting")
    assert "Before the crash" in text  # what was shown stays
    hangar.run("daemon", "start")
    hangar.run("issue", "create", "--title", "After the restart", "--no-repo")
    text = tui.wait("After the restart", "Before the crash")
    assert "daemon unreachable" not in text


def test_ainb_needs_a_terminal_and_says_so(hangar: Hangar) -> None:
    res = subprocess.run(
        [sys.executable, "-c", ENTRY.format(fn="ainb_main")],
        env=hangar.env, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert res.returncode == 2 and "needs a terminal" in res.stderr
