"""Interactive sessions end to end: the real CLI → real socket → real daemon → real tmux + git.

The agents are `bash`, `cat` and a script named `claude` that draws Claude Code's prompts; every
tmux call goes to a private server (TMUX_TMPDIR), which the fixture kills afterwards."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hangar.client import RemoteError, SyncClient
from hangar.core.paths import HangarPaths
from tests.e2e.harness import Hangar, make_repo, pid_alive, wait_until
from tests.sessions.helpers import format_payload, write_dumper

BASH = "bash --noprofile --norc"
#: sessions keep little in the store: the lifecycle and crash tests run on both databases,
#: the rest (tmux and git behaviour) on SQLite only
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class Sessions:
    def __init__(self, h: Hangar, repo: Path, tmux_dir: Path) -> None:
        self.h = h
        self.repo = repo
        self.tmux_dir = tmux_dir

    def create(self, name: str, *extra: str, command: str = BASH) -> dict:
        return self.h.json(
            "session", "create", name, "--repo", str(self.repo), "--command", command, *extra
        )

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        deadline = time.monotonic() + 2  # asked again when cut off by a server exiting
        while True:  # with its last session, as the daemon does
            res = subprocess.run(
                ["tmux", *args], env=self.h.env, capture_output=True, text=True, timeout=10
            )
            if "server exited unexpectedly" not in res.stderr or time.monotonic() > deadline:
                return res
            time.sleep(0.05)

    def git(self, *args: str, cwd: Path | None = None) -> str:
        return subprocess.run(
            ["git", "-C", str(cwd or self.repo), *args],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def read(self, name: str, lines: int = 50) -> str:
        return self.h.json("session", "read", name, "--lines", str(lines))["content"]

    def wait_for_text(self, name: str, pattern: str, timeout: float = 15) -> str:
        return wait_until(
            lambda: (c := self.read(name)) and re.search(pattern, c) and c,
            timeout=timeout,
            interval=0.1,
        )

    def status(self, name: str) -> str:
        return self.h.json("session", "show", name)["status"]

    def create_in_background(self, name: str) -> subprocess.Popen[bytes]:
        """Start ``session create NAME`` (agent ``cat``) from a CLI process of its own and
        return once the daemon has made its tmux session (the create is still running)."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "hangar.cli", "session", "create", name, "--repo",
             str(self.repo), "--command", "cat"],
            env=self.h.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        wait_until(
            lambda: self.tmux("has-session", "-t", f"=harness-{name}").returncode == 0,
            timeout=15, interval=0.05,
        )  # fmt: skip
        return proc


@pytest.fixture
def sessions(hangar: Hangar, tmp_path: Path) -> Iterator[Sessions]:
    tmux_dir = Path(tempfile.mkdtemp(prefix="tx-", dir="/tmp"))
    home = tmp_path / "home"
    home.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    hangar.env.update(
        TMUX_TMPDIR=str(tmux_dir), HOME=str(home), PATH=f"{bin_dir}:{hangar.env['PATH']}"
    )
    hangar.env.pop("TMUX", None)
    repo = make_repo(tmp_path / "repo")
    s = Sessions(hangar, repo, tmux_dir)
    try:
        yield s
    finally:
        hangar.stop()
        s.tmux("kill-server")  # our private server only: TMUX_TMPDIR is ours
        subprocess.run(["rm", "-rf", str(tmux_dir)], check=False)


def test_lifecycle_create_send_wait_read_archive_resume_delete(sessions: Sessions) -> None:
    h = sessions.h
    row = sessions.create("feat-a", "--meta", "ticket=T-1", "--idle-threshold", "700ms")
    wt = Path(row["worktree_path"])
    assert wt == sessions.repo.parent / "worktrees" / "feat-a"
    assert (row["status"], row["branch"], row["tmux_session"]) == (
        "active",
        "feat-a",
        "harness-feat-a",
    )
    assert row["meta"] == {"ticket": "T-1"}
    assert sessions.git("rev-parse", "--abbrev-ref", "HEAD", cwd=wt).strip() == "feat-a"
    assert sessions.tmux("has-session", "-t", "=harness-feat-a").returncode == 0

    listed = h.json("session", "list")["sessions"]
    assert [v["session"]["name"] for v in listed] == ["feat-a"]

    h.run("session", "send", "feat-a", "echo hello-$((40+2))")
    waited = h.json("session", "wait", "feat-a", "--timeout", "20s", "--poll", "100ms")
    assert (waited["idle"], waited["timed_out"], waited["state"]) == (True, False, "idle")
    assert "hello-42" in sessions.read("feat-a")
    # the command ran inside the worktree
    h.run("session", "send", "feat-a", "pwd")
    sessions.wait_for_text("feat-a", re.escape(str(wt)) + r"\s*$|" + re.escape(str(wt)) + "\n")

    hint = h.run("session", "attach", "feat-a", "--print").out.strip()
    assert hint == "tmux attach-session -t harness-feat-a"

    # archive: agent asked to exit, worktree removed, branch kept, row kept
    archived = h.json("session", "archive", "feat-a")
    assert archived["status"] == "archived"
    assert not wt.exists()
    assert "feat-a" in sessions.git("branch", "--list", "feat-a")
    assert sessions.tmux("has-session", "-t", "=harness-feat-a").returncode != 0
    assert h.json("session", "list")["sessions"] == []
    every = h.json("session", "list", "--all")["sessions"]
    assert [(v["session"]["name"], v["session"]["status"]) for v in every] == [
        ("feat-a", "archived")
    ]
    refused = h.run("session", "send", "feat-a", "hi", ok=False)
    assert refused.code == 1 and "archived" in refused.err

    # resume brings the worktree back from the kept branch and relaunches the agent
    resumed = h.json("session", "resume", "feat-a")
    assert resumed["status"] == "active" and wt.is_dir()
    h.run("session", "send", "feat-a", "echo back-again")
    sessions.wait_for_text("feat-a", "back-again\n")

    gone = h.json("session", "delete", "feat-a", "--yes")
    assert gone == {"deleted": True, "id": row["id"]}
    assert not wt.exists()
    assert sessions.git("branch", "--list", "feat-a").strip() == ""
    assert sessions.tmux("has-session", "-t", "=harness-feat-a").returncode != 0
    assert h.run("session", "show", "feat-a", ok=False).code == 4


@sqlite_only
def test_text_is_typed_literally_and_control_characters_are_refused(sessions: Sessions) -> None:
    h = sessions.h
    sessions.create("lit", command="cat")
    for text in ("Enter", "C-c", "-x --flag", "tab\there"):
        h.run("session", "send", "lit", "--", text)
    h.run("session", "send", "lit", "--", "line one\nline two")
    content = sessions.wait_for_text("lit", "line two\n.*line two|line two\\s*$")
    for text in ("Enter", "C-c", "-x --flag", "line one", "line two"):
        assert content.count(text) >= 1, content
    assert sessions.status("lit") == "active"  # C-c was text: cat still runs
    bad = h.run("session", "send", "lit", "oops\x1b[A", ok=False)
    assert bad.code == 1 and "control character" in bad.err


@sqlite_only
def test_sends_are_rate_limited_by_waiting_not_failing(sessions: Sessions) -> None:
    h = sessions.h
    sessions.create("rate", command="cat")
    with SyncClient.connect(HangarPaths.from_env(h.env), autostart=False) as client:
        ws = None
        start = time.monotonic()
        for i in range(3):
            client.call(
                "hangar/session_send",
                {"workspace_id": ws, "id": "rate", "text": f"r{i}", "press_enter": False},
            )
        elapsed = time.monotonic() - start
    assert elapsed >= 0.4  # three sends: two enforced 200 ms gaps
    sessions.wait_for_text("rate", "r0r1r2")


@sqlite_only
def test_create_is_transactional_and_validates(sessions: Sessions) -> None:
    h = sessions.h
    h.env["HANGAR_LAUNCH_PROBE"] = "3s"  # bash dies at 0.2 s even on a slow machine
    failed = h.run(
        "session",
        "create",
        "boom",
        "--repo",
        str(sessions.repo),
        "--command",
        "bash -c 'echo cannot-start; sleep 0.2; exit 3'",
        ok=False,
    )
    assert failed.code == 1
    assert "exited at once" in failed.err and "cannot-start" in failed.err
    assert not (sessions.repo.parent / "worktrees" / "boom").exists()
    assert sessions.git("branch", "--list", "boom").strip() == ""
    assert sessions.tmux("has-session", "-t", "=harness-boom").returncode != 0
    assert h.json("session", "list", "--all")["sessions"] == []

    missing = h.run(
        "session",
        "create",
        "nocmd",
        "--repo",
        str(sessions.repo),
        "--command",
        "no-such-agent-cli",
        ok=False,
    )
    assert "not found on the daemon's PATH" in missing.err
    for bad in ("Bad_Name", "x" * 41, "new", "-lead"):
        res = h.run("session", "create", "--repo", str(sessions.repo), "--", bad, ok=False)
        assert res.code == 1 and ("invalid session name" in res.err or "reserved" in res.err)
    notrepo = h.run(
        "session", "create", "nr", "--repo", str(sessions.tmux_dir), "--command", "cat", ok=False
    )
    assert "not a git repository" in notrepo.err

    sessions.create("one", "--max", "1")
    full = h.run(
        "session", "create", "two", "--repo", str(sessions.repo), "--max", "1",
        "--command", "cat", ok=False,
    )  # fmt: skip
    assert "cap" in full.err
    dup = h.run(
        "session", "create", "one", "--repo", str(sessions.repo), "--command", "cat", ok=False
    )
    assert "already exists" in dup.err


@sqlite_only
def test_delete_refuses_dirty_or_unpushed_work_unless_forced(sessions: Sessions) -> None:
    h = sessions.h
    row = sessions.create("work")
    wt = Path(row["worktree_path"])
    assert h.run("session", "delete", "work", ok=False).err.count("--yes") == 1
    (wt / "notes.txt").write_text("draft\n")
    dirty = h.run("session", "delete", "work", "--yes", ok=False)
    assert dirty.code == 1 and "uncommitted changes" in dirty.err
    assert "pass --force to delete anyway" in dirty.err  # the CLI's flag, not force=true
    archive = h.run("session", "archive", "work", ok=False).err
    assert archive.count("uncommitted") == 1 and "pass --force to archive" in archive
    subprocess.run(["git", "-C", str(wt), "add", "."], check=True)
    subprocess.run(
        ["git", "-C", str(wt), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "wip"],
        check=True,
    )
    unpushed = h.run("session", "delete", "work", "--yes", ok=False)
    assert "1 commit(s)" in unpushed.err and "pass --force to delete them" in unpushed.err
    assert wt.is_dir() and sessions.status("work") == "active"
    h.run("session", "delete", "work", "--yes", "--force")
    assert not wt.exists()
    assert sessions.git("branch", "--list", "work").strip() == ""


@sqlite_only
def test_wait_times_out_while_output_keeps_changing_and_returns_soon_after_quiet(
    sessions: Sessions,
) -> None:
    h = sessions.h
    sessions.create("busy", command="bash -c 'while :; do date +%N; sleep 0.1; done'")
    res = h.run(
        "session",
        "wait",
        "busy",
        "--timeout",
        "2s",
        "--threshold",
        "4s",
        "--poll",
        "100ms",
        "--json",
        ok=False,
    )
    assert res.code == 1
    body = json.loads(res.out)
    assert (body["timed_out"], body["idle"], body["state"]) == (True, False, "busy")

    sessions.create("calm", "--idle-threshold", "1s")
    time.sleep(0.3)
    h.run("session", "send", "calm", "echo settled")
    started = time.monotonic()
    quiet = h.json("session", "wait", "calm", "--poll", "100ms", "--timeout", "20s")
    took = time.monotonic() - started
    assert quiet["idle"] and quiet["elapsed_ms"] >= 1000
    # soon after the threshold: one 100 ms poll, plus slack for a loaded machine
    assert quiet["elapsed_ms"] < 1000 + 5000, quiet
    assert took < 10


@sqlite_only
def test_session_killed_behind_the_daemons_back_is_orphaned_then_resumed(
    sessions: Sessions,
) -> None:
    h = sessions.h
    sessions.create("ghost")
    sessions.create("alive")
    assert sessions.tmux("kill-session", "-t", "=harness-ghost").returncode == 0
    listed = h.json("session", "list")["sessions"]
    assert [v["session"]["name"] for v in listed] == ["alive"]
    assert sessions.status("ghost") == "orphaned"
    refused = h.run("session", "send", "ghost", "hi", ok=False)
    assert "orphaned" in refused.err and "resume" in refused.err
    assert h.run("session", "resume", "ghost").out.startswith("resumed session ghost")
    assert sessions.status("ghost") == "active"
    h.run("session", "send", "ghost", "echo risen")
    sessions.wait_for_text("ghost", "risen\n")
    again = h.run("session", "resume", "ghost")  # running: nothing to do, and it says so
    assert again.out == "session ghost is already running; nothing to resume\n"
    assert "risen" in sessions.read("ghost")  # the same agent, not a relaunch


@sqlite_only
def test_startup_reconcile_orphans_missing_and_leaves_strays(sessions: Sessions) -> None:
    h = sessions.h
    sessions.create("keep")
    sessions.create("lost")
    h.stop()
    sessions.tmux("kill-session", "-t", "=harness-lost")
    sessions.tmux("new-session", "-d", "-s", "harness-stray", "cat")
    h.run("daemon", "start")
    assert sessions.status("lost") == "orphaned"
    assert sessions.status("keep") == "active"
    assert sessions.tmux("has-session", "-t", "=harness-stray").returncode == 0
    log = h.run("logs", "tail", "--lines", "200").out
    assert "harness-stray" in log


def test_daemon_killed_hard_sessions_survive_and_stay_usable(sessions: Sessions) -> None:
    h = sessions.h
    for name in ("s1", "s2"):
        sessions.create(name)
    pid = h.daemon_pid
    assert pid is not None
    h.kill_daemon()
    assert not pid_alive(pid)
    # the agents live on in tmux; the next command starts a new daemon that finds them
    listed = h.json("session", "list")["sessions"]
    assert sorted(v["session"]["name"] for v in listed) == ["s1", "s2"]
    assert h.daemon_pid != pid
    h.run("session", "send", "s2", "echo after-crash")
    sessions.wait_for_text("s2", "after-crash\n")


FAKE_CLAUDE = r"""#!/usr/bin/env bash
echo "$@" >> "$HOME/claude-argv.log"
printf '╭──────────────────────────────────────────╮\n'
printf '│ Bash command                             │\n'
printf '│   rm -rf build                           │\n'
printf '│ Do you want to proceed?                  │\n'
printf '│ \u276f 1. Yes                                 │\n'
printf '│   2. No, and tell Claude what to do      │\n'
printf '╰──────────────────────────────────────────╯\n'
read -r answer
echo "answered: $answer"
exec cat
"""


@sqlite_only
def test_claude_trust_waiting_for_input_and_resume_with_its_session_id(
    sessions: Sessions, tmp_path: Path
) -> None:
    h = sessions.h
    fake = tmp_path / "bin" / "claude"
    fake.write_text(FAKE_CLAUDE)
    fake.chmod(0o755)
    home = Path(h.env["HOME"])
    (home / ".claude.json").write_text(json.dumps({"numStartups": 7, "projects": {"/x": {"a": 1}}}))

    row = sessions.create("ask", command="claude")
    wt = row["worktree_path"]
    config = json.loads((home / ".claude.json").read_text())
    assert config["numStartups"] == 7 and config["projects"]["/x"] == {"a": 1}
    assert config["projects"][wt]["hasTrustDialogAccepted"] is True
    sid = row["agent_session_id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", sid)

    waited = h.json("session", "wait", "ask", "--timeout", "20s", "--poll", "100ms")
    assert (waited["state"], waited["idle"], waited["timed_out"]) == (
        "waiting_for_input",
        False,
        False,
    )
    assert h.json("session", "idle", "ask")["state"] == "waiting_for_input"
    h.run("session", "send", "ask", "1")
    sessions.wait_for_text("ask", "answered: 1")

    # a transcript exists now (Claude writes one per conversation): resume continues it
    encoded = re.sub(r"[^A-Za-z0-9]", "-", wt)
    transcript = home / ".claude" / "projects" / encoded / f"{sid}.jsonl"
    transcript.parent.mkdir(parents=True)
    transcript.write_text("{}\n")
    sessions.tmux("kill-session", "-t", "=harness-ask")
    h.json("session", "list")
    h.json("session", "resume", "ask")
    wait_until(lambda: (home / "claude-argv.log").read_text().count("\n") >= 2, timeout=10)
    first, second = (home / "claude-argv.log").read_text().splitlines()[:2]
    assert first == f"--session-id {sid}"
    assert second == f"--resume {sid}"


@sqlite_only
def test_sessions_of_another_workspace_are_invisible(sessions: Sessions) -> None:
    h = sessions.h
    row = sessions.create("mine")
    h.run("workspace", "create", "other")
    for cmd in (["show", row["id"]], ["send", "mine", "x"], ["archive", "mine"]):
        res = h.run("session", *cmd, "--workspace", "other", ok=False)
        assert res.code == 4, res
    assert os.path.isdir(row["worktree_path"])


@sqlite_only
def test_attach_puts_a_human_in_the_agents_terminal(sessions: Sessions) -> None:
    h = sessions.h
    sessions.create("pair", command="cat")
    # a terminal for the "human": a second tmux session running `hangar session attach`
    # (TMUX unset, as in a fresh terminal: tmux refuses to nest otherwise)
    viewer = [
        "env", "-u", "TMUX", f"AINB_HANGAR_HOME={h.home}",
        sys.executable, "-m", "hangar.cli", "session", "attach", "pair",
    ]  # fmt: skip
    assert sessions.tmux("new-session", "-d", "-s", "viewer", "-x", "120", "-y", "40",
                         *viewer).returncode == 0  # fmt: skip
    try:
        clients = wait_until(
            lambda: sessions.tmux("list-clients", "-t", "=harness-pair").stdout.strip(),
            timeout=15,
        )
        assert clients  # someone is attached to exactly the agent's session
        # what the human types reaches the agent
        sessions.tmux("send-keys", "-t", "=viewer:", "-l", "typed-by-human")
        sessions.tmux("send-keys", "-t", "=viewer:", "Enter")
        sessions.wait_for_text("pair", "typed-by-human\n")
    finally:
        sessions.tmux("kill-session", "-t", "=viewer")


@sqlite_only
def test_one_daemon_serves_sessions_in_several_repositories(
    sessions: Sessions, tmp_path: Path
) -> None:
    h = sessions.h
    other = make_repo(tmp_path / "elsewhere" / "other-repo")
    a = sessions.create("in-first")
    b = h.json(
        "session", "create", "in-second", "--repo", str(other / "sub-dir-missing" / ".."),
        "--command", "cat", "--base", "main",
    )  # fmt: skip
    assert Path(a["repo_path"]) == sessions.repo
    assert Path(b["repo_path"]) == other
    assert Path(b["worktree_path"]) == other.parent / "worktrees" / "in-second"
    assert b["base_branch"] == "main"
    listed = {
        v["session"]["name"]: v["session"]["repo_path"]
        for v in h.json("session", "list")["sessions"]
    }
    assert listed == {"in-first": str(sessions.repo), "in-second": str(other)}


@sqlite_only
def test_a_split_window_never_receives_the_orchestrators_text(sessions: Sessions) -> None:
    h = sessions.h
    sessions.create("sp", command="cat")
    # a person splits the agent's window: the new pane (a shell) becomes the active one
    split = sessions.tmux("split-window", "-t", "=harness-sp:", "-P", "-F", "#{pane_id}", "cat")
    human_pane = split.stdout.strip()
    assert human_pane.startswith("%")
    h.run("session", "send", "sp", "for-the-agent")
    sessions.wait_for_text("sp", "for-the-agent\n")
    human = sessions.tmux("capture-pane", "-p", "-t", human_pane).stdout
    assert "for-the-agent" not in human


@sqlite_only
def test_a_wait_outlasting_the_connection_idle_limit_still_answers(sessions: Sessions) -> None:
    h = sessions.h
    h.env["AINB_HANGAR_RPC_IDLE_MS"] = "1000"  # the daemon reads it at start
    sessions.create("long", command="bash -c 'while :; do date +%N; sleep 0.1; done'")
    res = h.run("session", "wait", "long", "--timeout", "2500ms", "--json", ok=False)
    assert res.code == 1, res  # timed out as asked, not "daemon unreachable" (3)
    assert json.loads(res.out)["timed_out"] is True


@sqlite_only
def test_an_exited_agent_is_reported_and_refuses_input(sessions: Sessions) -> None:
    h = sessions.h
    sessions.create("quits")
    h.run("session", "send", "quits", "exit 7")
    waited = h.json("session", "wait", "quits", "--timeout", "20s", "--poll", "100ms")
    assert (waited["state"], waited["idle"], waited["timed_out"]) == ("exited", False, False)
    refused = h.run("session", "send", "quits", "hello", ok=False)
    assert refused.code == 1 and "has exited (status 7)" in refused.err
    h.json("session", "resume", "quits")  # an exited agent comes back in place
    h.run("session", "send", "quits", "echo again")
    sessions.wait_for_text("quits", "again\n")


@sqlite_only
def test_orphaned_session_never_kills_a_same_named_stranger(sessions: Sessions) -> None:
    h = sessions.h
    sessions.create("ok")
    sessions.tmux("kill-session", "-t", "=harness-ok")
    h.json("session", "list")  # notices: orphaned
    assert sessions.tmux("new-session", "-d", "-s", "harness-ok", "cat").returncode == 0
    assert h.json("session", "archive", "ok")["status"] == "archived"
    assert sessions.tmux("has-session", "-t", "=harness-ok").returncode == 0
    taken = h.run("session", "resume", "ok", ok=False)
    assert "already exists" in taken.err


@sqlite_only
def test_resume_respects_the_cap(sessions: Sessions) -> None:
    h = sessions.h
    sessions.create("first", "--max", "1")
    sessions.tmux("kill-session", "-t", "=harness-first")
    h.json("session", "list")  # first is orphaned now: it no longer counts
    sessions.create("second", "--max", "1")
    full = h.run("session", "resume", "first", "--max", "1", ok=False)
    assert full.code == 1 and "1 sessions of this repository are active" in full.err
    assert sessions.status("first") == "orphaned"


@sqlite_only
def test_delete_keeps_a_branch_the_session_did_not_create(sessions: Sessions) -> None:
    h = sessions.h
    sessions.git("branch", "develop")
    row = sessions.create("dev", "--branch", "develop")
    assert row["owns_branch"] is False
    h.run("session", "delete", "dev", "--yes")
    assert "develop" in sessions.git("branch", "--list", "develop")
    assert not Path(row["worktree_path"]).exists()


@sqlite_only
def test_read_since_line_reports_history_tmux_dropped(sessions: Sessions) -> None:
    h = sessions.h
    sessions.create("hist")
    first = h.json("session", "read", "hist", "--since-line", "0")
    h.run("session", "send", "hist", "seq 1 6000")
    sessions.wait_for_text("hist", "\n6000\n")
    later = h.json("session", "read", "hist", "--since-line", "5000", "--lines", "5")
    assert later["truncated"] is True  # tmux keeps ~2000 lines: line 5000 is long gone
    assert "6000" in later["content"].splitlines()
    assert later["next_line"] < 5000 and first["next_line"] is not None


@sqlite_only
def test_list_wait_any_returns_states_and_a_timeout_fails(sessions: Sessions) -> None:
    h = sessions.h
    sessions.create("spin", "--idle-threshold", "10s")  # a stalled loop is still busy
    sessions.create("calm-b", "--idle-threshold", "1s")
    h.run("session", "send", "spin", "while :; do date +%N; sleep 0.1; done")
    sessions.wait_for_text("spin", r"\n\d{9}\n")
    settled = h.json("session", "list", "--wait", "any", "--timeout", "30s")
    states = {v["session"]["name"]: v["state"] for v in settled["sessions"]}
    assert states == {"spin": "busy", "calm-b": "idle"} and settled["timed_out"] is False
    timed_out = h.run("session", "list", "--wait", "all", "--timeout", "1500ms", ok=False)
    assert timed_out.code == 1
    assert "timed out after 1500ms waiting for the sessions to settle" in timed_out.err
    assert "spin" in timed_out.out  # the table still shows where things stand
    as_json = h.run("session", "list", "--wait", "all", "--timeout", "1s", "--json", ok=False)
    assert as_json.code == 1 and json.loads(as_json.out)["timed_out"] is True


@sqlite_only
def test_names_git_cannot_use_as_branches_are_refused_before_anything_is_made(
    sessions: Sessions,
) -> None:
    h = sessions.h
    sha_like = "a" * 40
    refused = h.run(
        "session", "create", sha_like, "--repo", str(sessions.repo), "--command", BASH, ok=False
    )
    assert refused.code == 1
    assert f"branch name '{sha_like}' is a full commit id" in refused.err
    bad = h.run(
        "session", "create", "ok-name", "--repo", str(sessions.repo), "--branch", "a..b",
        "--command", BASH, ok=False,
    )  # fmt: skip
    assert "'a..b' is not a valid git branch name; choose another branch" in bad.err
    assert h.json("session", "list", "--all")["sessions"] == []
    assert not (sessions.repo.parent / "worktrees").exists()
    assert sessions.git("branch", "--list").split() == ["*", "main"]


@sqlite_only
def test_archive_ends_an_agent_that_ignores_every_polite_signal(
    sessions: Sessions, tmp_path: Path
) -> None:
    """C-d, the grace period, SIGHUP from tmux and SIGTERM are all ignored: the agent and
    the child it left in the background are killed anyway, nothing runs on."""
    stub = tmp_path / "bin" / "stubborn"
    stub.write_text(
        "#!/bin/bash\n"
        'trap "" HUP TERM INT\n'
        f"sleep 1000 & echo $! > {tmp_path}/child.pid\n"
        f"echo $$ > {tmp_path}/agent.pid\n"
        "echo ready; while :; do sleep 0.2; done\n"
    )
    stub.chmod(0o755)
    sessions.create("stub", command="stubborn")
    sessions.wait_for_text("stub", "ready")
    pids = [int((tmp_path / f"{who}.pid").read_text()) for who in ("agent", "child")]
    assert all(pid_alive(pid) for pid in pids)
    archived = sessions.h.json("session", "archive", "stub")
    assert archived["status"] == "archived"
    wait_until(lambda: not any(pid_alive(pid) for pid in pids), timeout=5)
    assert sessions.tmux("has-session", "-t", "=harness-stub").returncode != 0


@sqlite_only
def test_read_since_line_never_loses_text_added_to_the_last_line(sessions: Sessions) -> None:
    h = sessions.h
    go = sessions.tmux_dir / "grow.go"  # the line grows when the test says so
    sessions.create("grow")
    h.run(
        "session", "send", "grow",
        f"printf 'PART-A'; while [ ! -e {go} ]; do sleep 0.05; done; echo ' PART-B'",
    )  # fmt: skip
    sessions.wait_for_text("grow", r"\nPART-A")
    first = h.json("session", "read", "grow", "--since-line", "0")
    assert first["content"].rstrip().endswith("PART-A")
    go.touch()
    sessions.wait_for_text("grow", "PART-A PART-B")
    later = h.json("session", "read", "grow", "--since-line", str(first["next_line"]))
    assert "PART-A PART-B" in later["content"]  # the grown line comes again, whole
    assert "printf" not in later["content"]  # lines before it are not sent twice


@sqlite_only
def test_a_session_quiet_before_its_first_check_is_idle_at_once(sessions: Sessions) -> None:
    """The daemon samples screens on its own: the first look at a session quiet for
    longer than the threshold says idle, with the quiet time, not "busy, quiet for 0 ms"."""
    h = sessions.h
    sessions.create("calm", "--idle-threshold", "1s")
    time.sleep(6)  # watch rounds (2 s apart) have seen the same screen for seconds now
    idle = h.json("session", "idle", "calm")
    assert (idle["state"], idle["idle"]) == ("idle", True), idle
    assert idle["elapsed_ms"] >= 1000


@sqlite_only
def test_a_create_interrupted_by_a_crash_is_undone_at_the_next_start(sessions: Sessions) -> None:
    h = sessions.h
    h.env["HANGAR_LAUNCH_PROBE"] = "20s"  # a wide window to kill the daemon in
    h.run("daemon", "start")
    pid = h.daemon_pid
    # kill the daemon inside create's launch probe: tmux session made, row not yet active
    proc = sessions.create_in_background("cut")
    assert pid is not None
    os.kill(pid, 9)
    proc.communicate(timeout=30)
    assert proc.returncode != 0
    listed = h.json("session", "list", "--all")["sessions"]  # a new daemon: recovery ran
    assert listed == []
    assert sessions.tmux("has-session", "-t", "=harness-cut").returncode != 0
    assert not (sessions.repo.parent / "worktrees" / "cut").exists()
    assert sessions.git("branch", "--list", "cut").strip() == ""
    h.stop()
    h.env.pop("HANGAR_LAUNCH_PROBE")
    sessions.create("cut", command="cat")  # the name is free again


@sqlite_only
def test_a_create_outlives_its_client_and_never_takes_an_existing_path(
    sessions: Sessions,
) -> None:
    h = sessions.h
    h.run("daemon", "start")
    proc = sessions.create_in_background("bg")
    proc.kill()  # Ctrl-C, closed laptop lid: the client is gone mid-create
    proc.communicate(timeout=10)
    # the daemon finished the work anyway: a whole session, not half a worktree
    wait_until(lambda: sessions.status("bg") == "active", timeout=15, interval=0.1)
    h.run("session", "send", "bg", "still-here")
    sessions.wait_for_text("bg", "still-here\n")

    mine = sessions.repo.parent / "worktrees" / "taken"
    mine.mkdir(parents=True)
    (mine / "precious.txt").write_text("keep me\n")
    res = h.run("session", "create", "taken", "--repo", str(sessions.repo), "--command", "cat",
                ok=False)  # fmt: skip
    assert res.code == 1 and "already exists" in res.err
    assert (mine / "precious.txt").read_text() == "keep me\n"
    assert h.run("session", "show", "taken", ok=False).code == 4


@sqlite_only
def test_a_wait_right_after_a_send_never_takes_the_old_screen_for_settled(
    sessions: Sessions, tmp_path: Path
) -> None:
    """The agent shows nothing of the input and answers 0.5 s later: a wait begun at once
    used to compare against the screen from before the send and say idle."""
    agent = tmp_path / "bin" / "silent"
    agent.write_text(
        '#!/bin/bash\nstty -echo\necho ready\nread line\nsleep 0.5\necho "got-$line"\nsleep 1000\n'
    )
    agent.chmod(0o755)
    h = sessions.h
    sessions.create("quiet", "--idle-threshold", "1500ms", command="silent")
    sessions.wait_for_text("quiet", "ready")
    h.json("session", "wait", "quiet", "--timeout", "20s")  # quiet for 1.5 s before the send
    h.run("session", "send", "quiet", "hello")
    waited = h.json("session", "wait", "quiet", "--timeout", "20s", "--poll", "50ms")
    assert waited["state"] == "idle"
    assert "got-hello" in sessions.read("quiet")


def _dump_of(agent: Path) -> dict:
    """What the dumper agent (tests/sessions/helpers.py) recorded, once it has."""
    out = Path(f"{agent}.json")
    return wait_until(lambda: out.exists() and json.loads(out.read_text()), timeout=20)


@sqlite_only
def test_a_session_agent_sees_the_policy_never_the_daemons_environment(
    sessions: Sessions, tmp_path: Path
) -> None:
    """The shell that auto-starts the daemon holds secrets and code-loading variables; the
    session's agent sees only what the environment policy lets through."""
    h = sessions.h
    empty = tmp_path / "bash_env"
    empty.write_text("")
    secrets = {
        "LD_PRELOAD": "libc.so.6",  # preloading libc again is harmless, and still a leak
        "BASH_ENV": str(empty),
        "GITHUB_TOKEN": "ghp_leak",
        "AWS_SECRET_ACCESS_KEY": "aws-leak",
    }
    h.env.update(secrets, LANG="C.UTF-8")
    agent = write_dumper(tmp_path / "agent-bin" / "agent")

    row = sessions.create("env", command=str(agent))

    env = _dump_of(agent)["env"]
    assert not set(secrets) & set(env), env
    for key in ("HOME", "PATH", "LANG"):
        assert env[key] == h.env[key]
    assert "TERM" in env  # the pane's own
    assert (env["HANGAR_SESSION"], env["HANGAR_SESSION_ID"]) == ("env", row["id"])
    assert env["PWD"] == row["worktree_path"]
    # the tmux server the daemon started holds none of them either
    server = sessions.tmux("show-environment", "-g").stdout
    assert not {line.split("=")[0] for line in server.splitlines()} & set(secrets)


@sqlite_only
def test_paths_holding_tmux_formats_are_used_as_they_are(
    sessions: Sessions, tmp_path: Path
) -> None:
    """A worktree root holding `#(…)` never runs a command, and the session works there."""
    h = sessions.h
    marker = tmp_path / "expanded"
    root = tmp_path / f"roots {format_payload(marker)}"
    agent = write_dumper(tmp_path / "agent-bin" / "agent")

    row = sessions.create("odd", "--worktree-root", str(root), command=str(agent))

    assert row["worktree_path"] == str(root / "odd")
    assert _dump_of(agent)["cwd"] == row["worktree_path"]
    assert not marker.exists()
    archived = h.json("session", "archive", "odd", "--force")
    assert archived["status"] == "archived" and not (root / "odd").exists()
    refused = h.run("session", "create", f"x{format_payload(marker)}", "--repo",
                    str(sessions.repo), "--command", "cat", ok=False)  # fmt: skip
    assert refused.code != 0 and "invalid session name" in refused.err.lower()
    assert not marker.exists()


@sqlite_only
def test_two_workspaces_may_each_have_a_session_of_the_same_name(sessions: Sessions) -> None:
    h = sessions.h
    h.run("workspace", "create", "other")
    mine = sessions.create("fix-login", command="cat")
    theirs = sessions.create("fix-login", "--workspace", "other", command="cat")

    # the default workspace keeps the plain names; another one's carry its slug
    assert (mine["tmux_session"], theirs["tmux_session"]) == (
        "harness-fix-login",
        "harness-other_fix-login",
    )
    worktrees = sessions.repo.parent / "worktrees"
    assert Path(mine["worktree_path"]) == worktrees / "fix-login"
    assert Path(theirs["worktree_path"]) == worktrees / "other_fix-login"
    assert (mine["branch"], theirs["branch"]) == ("fix-login", "other/fix-login")
    for row in (mine, theirs):
        assert sessions.tmux("has-session", "-t", f"={row['tmux_session']}").returncode == 0
    again = h.run(
        "session", "create", "fix-login", "--repo", str(sessions.repo), "--command", "cat",
        "--workspace", "other", ok=False,
    )  # fmt: skip
    assert again.code == 1 and "already exists in this workspace" in again.err
    assert mine["worktree_path"] not in again.err and mine["id"] not in again.err


@sqlite_only
def test_send_without_enter_refuses_a_line_break_a_shell_would_run(
    sessions: Sessions, tmp_path: Path
) -> None:
    h = sessions.h
    sessions.create("shl", command="sh")  # dash: no bracketed paste, a pasted line runs
    marker = tmp_path / "touched"

    res = h.run("session", "send", "shl", "--no-enter", "--", f"touch {marker}\n", ok=False)
    assert res.code == 1 and "line break" in res.err and "--no-enter" in res.err, res
    with (
        SyncClient.connect(HangarPaths.from_env(h.env), autostart=False) as client,
        pytest.raises(RemoteError) as refused,
    ):
        client.call(
            "hangar/session_send",
            {"id": "shl", "text": f"touch {marker}\nmore", "press_enter": False},
        )
    assert (refused.value.code, refused.value.data) == (-32602, {"kind": "invalid_text"})
    assert refused.value.message.startswith("text:")

    # the shell still takes input, and what it would have run by now it has not
    h.run("session", "send", "shl", "echo alive-$((40+2))")
    sessions.wait_for_text("shl", "alive-42")
    assert not marker.exists()


WRAPPED_CLAUDE = f"""#!{sys.executable}
import sys, time
print(open(sys.argv[0] + ".screen").read(), flush=True)
time.sleep(3600)
"""


def _screen_agent(path: Path, screen: str) -> Path:
    """An agent named for nobody that draws ``screen`` and waits."""
    path.write_text(WRAPPED_CLAUDE)
    path.chmod(0o755)
    Path(f"{path}.screen").write_text(screen)
    return path


@sqlite_only
def test_a_wrapped_or_declared_claude_waiting_for_input_is_reported_waiting(
    sessions: Sessions, tmp_path: Path
) -> None:
    from tests.sessions import claude_screens as screens

    h = sessions.h
    wrapped = _screen_agent(tmp_path / "bin" / "permission", screens.BASH_PERMISSION_V2)
    sessions.create("wrapped", command=f"env FOO=1 {wrapped}")
    waited = h.json("session", "wait", "wrapped", "--timeout", "20s", "--poll", "100ms")
    assert (waited["state"], waited["timed_out"]) == ("waiting_for_input", False), waited

    # a question whose words name nobody: only the session can say it is Claude's
    asker = _screen_agent(tmp_path / "bin" / "asker", screens.ASK_USER_QUESTION)
    row = sessions.create("declared", "--agent", "claude", command=str(asker))
    assert row["agent"] == "claude" and row["agent_session_id"]
    waited = h.json("session", "wait", "declared", "--timeout", "20s", "--poll", "100ms")
    assert (waited["state"], waited["timed_out"]) == ("waiting_for_input", False), waited
    assert "claude" in h.run("session", "show", "declared").out

    bad = h.run("session", "create", "nope", "--repo", str(sessions.repo), "--agent", "copilot",
                "--command", "cat", ok=False)  # fmt: skip
    assert bad.code == 2 and "copilot" in bad.err
