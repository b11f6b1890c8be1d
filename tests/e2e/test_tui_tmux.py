"""Tripwires: the real `hangar tui` / `ainb` in a detached tmux pane on a private tmux server,
against the real daemon over its real socket, read back with `capture-pane` (polled to a
deadline, never sleep-and-hope)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.harness import Hangar, make_repo, wait_until

ENTRY = "from hangar.cli.main import {fn}; {fn}()"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: these test the UI, and the daemon's two backends are tested elsewhere."""
    return f"sqlite+aiosqlite:///{tmp_path / 'hangar.db'}"


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


def test_task_detail_streams_the_transcript(hangar: Hangar, tui: Pane) -> None:
    gate = hangar.tmp / "go-on"
    script = f"echo first line; while [ ! -e {gate} ]; do sleep 0.1; done; echo second line"
    hangar.json("agent", "create", "--name", "talker", "--provider", "command",
                "--command", f"sh -c '{script}'")  # fmt: skip
    tui.wait("No issues yet")
    made = hangar.assign("talker", "Stream to me")
    tui.wait("Stream to me")
    tui.keys("Enter")  # the issue's task
    tui.wait("first line", "running")
    gate.touch()
    tui.wait("second line", "done")
    assert hangar.task(made["task"]["id"])["status"] == "done"


def test_kanban_columns_and_a_card_moved_by_hand(hangar: Hangar, tui: Pane) -> None:
    hangar.json("agent", "create", "--name", "slow", "--provider", "command",
                "--command", "sleep 60")  # fmt: skip
    hangar.assign("slow", "Holds slot")
    waiting = hangar.assign("slow", "Waits")["task"]["id"]
    tui.wait("Waits", "Holds slot")  # the app is up (on Issues) before a key is sent
    tui.keys("K")
    text = tui.wait("Queued 1", "Running 1")
    for column in ("Queued", "Running", "Done", "Failed"):
        assert column in text, text
    tui.keys("S-Left")  # queued → (wrapping) failed: a cancel, which the daemon allows
    tui.wait("Queued 0", "Failed 1")
    wait_until(lambda: hangar.task(waiting)["status"] == "cancelled", timeout=20)


def test_the_agent_picker_opens_with_presence(hangar: Hangar, tui: Pane) -> None:
    hangar.json("agent", "create", "--name", "picky", "--provider", "command",
                "--command", "true")  # fmt: skip
    hangar.run("issue", "create", "--title", "Who takes it", "--no-repo")
    tui.wait("Who takes it")
    tui.keys("a")
    tui.wait("Assign to", "● picky", "● you")
    tui.keys("Escape")
    tui.wait("Who takes it")


def test_daemon_health_and_logs(hangar: Hangar, tui: Pane) -> None:
    tui.wait("No issues yet")
    tui.keys("D")
    text = tui.wait("Slots", "Daemon pid", "Throughput")
    assert str(hangar.daemon_pid) in text
    tui.keys("L")
    tui.wait("daemon started")


@pytest.fixture
def home(hangar: Hangar) -> Iterator[Pane]:
    hangar.run("daemon", "start")
    pane = _start(hangar, "home", "ainb_main")
    try:
        yield pane
    finally:
        subprocess.run(["tmux", "kill-server"], env=hangar.env, capture_output=True, timeout=20)


def test_a_plugin_screen_is_drawn_from_ainb_home(hangar: Hangar, home: Pane) -> None:
    home.wait("Plugin screens", "Analytics", "burndown")
    home.keys("Tab")  # to the plugin screens
    home.keys("Enter")
    home.wait("Analytics — plugin burndown", "daily")
    home.keys("w")  # the plugin's own key
    home.wait("weekly")
    home.keys("Escape")
    home.wait("Sessions", "Plugin screens")


def test_attach_hands_the_terminal_over_and_detach_comes_back(hangar: Hangar, home: Pane) -> None:
    repo = make_repo(hangar.tmp / "sess-repo")
    hangar.run("session", "create", "attached", "--repo", str(repo), "--command", "cat")
    home.wait("attached")
    home.keys("Enter")  # attach: the app steps aside for tmux
    home.wait("[harness-a")  # tmux's own status line: [harness-attached], clipped
    home.type("typed through")
    home.keys("Enter")
    home.wait("typed through")
    home.keys("C-b", "d")  # detach: back to the same screen
    text = home.wait("Sessions", "attached", "Plugin screens")
    assert "[harness-a" not in text


def test_autopilots_listed_from_the_cli_and_disabled_in_the_ui(hangar: Hangar, tui: Pane) -> None:
    hangar.json("agent", "create", "--name", "cronbot", "--provider", "command",
                "--command", "true")  # fmt: skip
    hangar.run("autopilot", "create", "--name", "nightly-deps", "--agent", "cronbot",
               "--cron", "0 3 * * *", "--tz", "Europe/Berlin",
               "--instructions", "Update the dependencies")  # fmt: skip
    tui.wait("No issues yet")
    tui.keys("5")
    tui.wait("nightly-deps", "0 3 * * * Europe/Berlin", "next: ")
    tui.keys("d")
    tui.wait("nightly-deps disabled", "off: d enables it")
    shown = hangar.json("autopilot", "show", "nightly-deps")
    assert shown["autopilot"]["enabled"] is False and shown["upcoming"] == []


def test_skills_synced_and_attached_in_the_ui(hangar: Hangar, tui: Pane) -> None:
    hangar.json("agent", "create", "--name", "skilled", "--provider", "command",
                "--command", "true")  # fmt: skip
    tui.wait("No issues yet")
    tui.keys("4")
    tui.wait("No skills yet: press s")
    tui.keys("s")
    tui.wait("synced ", "created", "brainstorm")
    tui.keys("i")  # the first skill by name, to the only agent
    tui.wait("attached brainstorm to skilled", "✓ skilled")
    listed = hangar.json("skills", "list", "--agent", "skilled")
    assert [s["name"] for s in listed] == ["brainstorm"]


def test_settings_env_allowlist_entry_added_in_the_ui_seen_by_the_cli(
    hangar: Hangar, tui: Pane
) -> None:
    tui.wait("No issues yet")
    tui.keys(",")
    tui.wait("Provider keys", "Env allowlist", "ANTHROPIC_API_KEY")
    tui.type("]]")  # to the env allowlist
    tui.wait("LD_*", "locked · deny family")
    tui.keys("n")
    tui.wait("Allow an environment variable")
    tui.type("MY_TOOL_HOME")
    tui.keys("Enter")
    tui.wait("added MY_TOOL_HOME")
    assert "MY_TOOL_HOME" in hangar.run("config", "env.allow", "list").out.splitlines()


def test_a_blocked_issue_filed_by_the_cli_carries_its_badge_until_unblocked(
    hangar: Hangar, tui: Pane
) -> None:
    hangar.json("agent", "create", "--name", "slow", "--provider", "command",
                "--command", "sleep 60")  # fmt: skip
    blocker = hangar.json("issue", "create", "--title", "Design the schema")["issue"]["id"]
    made = hangar.json(
        "issue", "create", "--title", "Write the migration", "--assign", "slow",
        "--blocked-by", blocker,
    )  # fmt: skip
    assert made["task"] is None
    text = tui.wait("Write the migration", "⊘ blocked", "Design the schema")
    assert "⊘ blocked" in next(line for line in text.splitlines() if "Write the migration" in line)
    tui.keys("r")  # Ready: what nothing blocks
    wait_until(lambda: "Write the migration" not in tui.text(), timeout=20)
    tui.keys("K")  # Kanban: it waits in queued, with its badge
    tui.wait("Queued 1", "⊘ blocked")
    hangar.run("issue", "unblock", made["issue"]["id"], "--by", blocker)
    tui.wait("Running 1")
    wait_until(lambda: "⊘ blocked" not in tui.text(), timeout=20)
