"""The CLI as a user meets it: exit codes, one-line errors, --json, workspaces, the daemon."""

from __future__ import annotations

import re
import subprocess
import sys
import time

from tests.e2e.harness import Hangar, make_repo, pid_alive, wait_until


def test_daemon_start_is_idempotent_and_stop_stops(hangar: Hangar) -> None:
    status = hangar.run("daemon", "status", "--json", ok=False)
    assert status.code == 3 and status.json()["running"] is False
    hangar.run("daemon", "start")
    pid = hangar.daemon_pid
    assert pid and pid_alive(pid)
    hangar.run("daemon", "start")
    assert hangar.daemon_pid == pid  # the same daemon: start is idempotent
    st = hangar.json("daemon", "status")
    assert st["running"] and st["migrated"] and st["pid"] == pid
    hangar.run("daemon", "stop")
    wait_until(lambda: not pid_alive(pid))
    assert hangar.run("daemon", "stop").out.strip() == "daemon is not running"


def test_unreachable_daemon_exits_3_with_one_line(hangar: Hangar) -> None:
    res = hangar.run("issue", "list", ok=False, extra_env={"HANGAR_NO_AUTOSTART": "1"})
    assert res.code == 3
    assert len(res.err.strip().splitlines()) == 1 and "daemon" in res.err


def test_default_workspace_bootstraps_and_workspaces_isolate(hangar: Hangar) -> None:
    rows = hangar.json("workspace", "list")
    assert [w["slug"] for w in rows] == ["default"] and rows[0]["is_default"]
    hangar.run("workspace", "create", "other", "--name", "Other Team")
    hangar.json("agent", "create", "--name", "bot", "--provider", "command", "--command", "true")
    created = hangar.json("issue", "create", "--title", "in default", "--assign", "bot")
    task_id, issue_id = created["task"]["id"], created["issue"]["id"]
    hangar.wait_done(task_id)

    # an id from another workspace behaves exactly like a missing id
    for args in (
        ("task", "show", task_id),
        ("issue", "show", issue_id),
        ("task", "cancel", task_id),
        ("task", "retry", task_id),
        ("agent", "show", "bot"),
    ):
        other = hangar.run(*args, "--workspace", "other", ok=False)
        missing = hangar.run(
            args[0], args[1], "01JZZZZZZZZZZZZZZZZZZZZZZZ", "--workspace", "other", ok=False
        )
        assert other.code == missing.code == 4, (args, other.err)
        assert "not found" in other.err
    assert hangar.json("issue", "list", "--workspace", "other") == []
    assert hangar.json("task", "list", "--workspace", "other") == []

    hangar.run("workspace", "use", "other")
    assert hangar.json("issue", "list") == []
    assert [w["slug"] for w in hangar.json("workspace", "list") if w["is_default"]] == ["other"]
    bad = hangar.run("workspace", "use", "nope", ok=False)
    assert bad.code == 4


def test_bad_input_gets_one_clear_line(hangar: Hangar) -> None:
    cases = [
        (("workspace", "create", "Bad Slug!"), 1, "lowercase"),
        (
            ("agent", "create", "--name", "bad name", "--provider", "command", "--command", "true"),
            1,
            "name",
        ),
        (
            (
                "agent",
                "create",
                "--name",
                "x",
                "--provider",
                "claude",
                "--command",
                "/no/such/claude",
            ),
            1,
            "not installed",
        ),
        (("agent", "create", "--name", "x", "--provider", "command"), 1, "--command"),
        (
            (
                "agent",
                "create",
                "--name",
                "x",
                "--provider",
                "command",
                "--command",
                "true",
                "--max-runtime",
                "soon",
            ),
            2,
            "duration",
        ),
        (("agent", "create", "--name", "x", "--provider", "nope"), 2, "provider"),
        (("issue", "create", "--title", "   "), 1, "title"),
        (("issue", "create", "--title", "t", "--assign", "ghost"), 4, "agent not found"),
        (("issue", "create", "--title", "t", "--repo", "/tmp"), 1, "not a git repository"),
        (("task", "show", "nope"), 4, "not found"),
        (("task", "list", "--status", "bogus"), 2, "bogus"),
    ]
    for args, code, needle in cases:
        res = hangar.run(*args, ok=False)
        assert res.code == code, (args, res.code, res.err)
        assert needle.lower() in res.err.lower(), (args, res.err)
        assert res.err.strip() and (code == 2 or len(res.err.strip().splitlines()) == 1), res.err
    assert hangar.json("issue", "list") == []  # nothing half-written
    assert hangar.json("agent", "list") == []


def test_illegal_transitions_are_refused(hangar: Hangar) -> None:
    hangar.json("agent", "create", "--name", "quick", "--provider", "command", "--command", "true")
    done_id = hangar.assign("quick")["task"]["id"]
    assert hangar.wait_done(done_id)["status"] == "done"
    res = hangar.run("task", "cancel", done_id, ok=False)
    assert res.code == 1 and "done" in res.err
    res = hangar.run("task", "retry", done_id, ok=False)
    assert res.code == 1 and "done" in res.err

    hangar.json(
        "agent", "create", "--name", "sleepy", "--provider", "command", "--command", "sleep 30"
    )
    running = hangar.assign("sleepy")["task"]["id"]
    hangar.wait_status(running, {"running"})
    res = hangar.run("task", "retry", running, ok=False)
    assert res.code == 1 and "running" in res.err
    assert hangar.task(running)["status"] == "running"
    hangar.run("task", "cancel", running)


def test_second_pending_task_for_the_same_issue_is_a_conflict(hangar: Hangar) -> None:
    # one slot, held by a long run, so a retried task stays pending (queued)
    hangar.json(
        "agent", "create", "--name", "bot", "--provider", "command", "--command", "sleep 30"
    )
    holder = hangar.assign("bot", "holds the slot")["task"]["id"]
    hangar.wait_status(holder, {"running"})
    waiting = hangar.assign("bot", "waits")["task"]["id"]
    hangar.run("task", "cancel", waiting)
    retry = hangar.json("task", "retry", waiting)
    assert hangar.task(retry["id"])["status"] == "queued"
    again = hangar.run("task", "retry", waiting, ok=False)
    assert again.code == 1 and "pending" in again.err.lower(), again.err
    for task_id in (retry["id"], holder):
        hangar.run("task", "cancel", task_id)


def test_task_log_follow_streams_until_the_end(hangar: Hangar) -> None:
    repo = make_repo(hangar.tmp / "repo")
    hangar.agent("bot", "claude", "happy", "--repo", str(repo))
    task_id = hangar.assign("bot")["task"]["id"]
    res = hangar.run("task", "log", task_id, "-f")
    assert "→" in res.out and "▌" in res.out
    assert "task done" in res.err
    crash = hangar.agent("crasher", "claude", "crash")
    task_id = hangar.assign(crash["name"])["task"]["id"]
    res = hangar.run("task", "log", task_id, "-f", ok=False)
    assert res.code == 1 and "task failed (agent_error)" in res.err


def test_logs_tail_reads_the_daemon_log(hangar: Hangar) -> None:
    hangar.run("daemon", "start")
    out = hangar.run("logs", "tail", "--lines", "50").out
    assert "daemon started" in out
    assert " INFO " in out
    warn_only = hangar.run("logs", "tail", "--level", "warn").out
    assert "daemon started" not in warn_only
    as_json = hangar.run("logs", "tail", "--json").out.splitlines()
    assert any('"msg": "daemon started"' in line for line in as_json)
    files = list((hangar.home / "logs").glob("daemon.*.jsonl"))
    assert len(files) == 1 and time.strftime("%Y-") in files[0].name


def test_ainb_hangar_is_the_same_cli(hangar: Hangar) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from hangar.cli.main import ainb_main; ainb_main()",
            "hangar",
            "workspace",
            "list",
            "--json",
        ],
        env=hangar.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert '"slug": "default"' in out.stdout


def test_demo_runs_an_issue_to_done(hangar: Hangar) -> None:
    res = hangar.run("demo", timeout=120)
    assert "[5/5] result: done" in res.out
    assert "hangar: add hello.txt" in res.out or "hello.txt" in res.out
    assert "$0.0042" in res.out
    # the demo used its own sandbox, not this home
    assert not (hangar.home / "hangar.db").exists()


def test_lists_speak_the_flags_vocabulary(hangar: Hangar) -> None:
    hangar.json(
        "agent", "create", "--name", "sleeper", "--provider", "command", "--command", "sleep 30"
    )
    made = hangar.json(
        "issue", "create", "--title", "named", "--assign", "sleeper", "--priority", "2"
    )
    row = next(
        line for line in hangar.run("issue", "list").out.splitlines() if made["issue"]["id"] in line
    )
    cols = re.split(r"\s{2,}", row.strip())  # ID, STATE, PRI, ASSIGNEE, TITLE, CREATED
    assert (cols[2], cols[3]) == ("2", "sleeper"), row
    shown = hangar.run("issue", "show", made["issue"]["id"]).out
    assert "sleeper" in shown and "2 (0 lowest, 3 highest)" in shown, shown
    hangar.run("task", "cancel", made["task"]["id"])


def test_the_first_use_says_once_that_it_started_the_daemon(hangar: Hangar) -> None:
    first = hangar.run("workspace", "list")
    pid = hangar.daemon_pid
    assert f"started the Hangar daemon (pid {pid}); `hangar daemon stop` ends it" in first.err
    assert "started the Hangar daemon" not in hangar.run("workspace", "list").err
    st = hangar.run("daemon", "status").out  # and status says how busy it is
    for field in ("slots", "last minute", "runtimes"):
        assert field in st, st


def test_an_issue_defaults_to_the_repository_you_are_in(hangar: Hangar) -> None:
    repo = make_repo(hangar.tmp / "app")
    (repo / "src").mkdir()
    hangar.agent("local", "claude", "work")  # an agent with no repository of its own
    made = hangar.run("issue", "create", "--title", "here", "--assign", "local", cwd=repo / "src")
    assert f"repository {repo}" in made.out, made.out
    issue_id = made.out.split()[2]
    assert hangar.json("issue", "show", issue_id)["issue"]["repo_path"] == str(repo)
    task_id = next(w for w in made.out.split() if w.startswith("01") and w != issue_id)
    done = hangar.wait_done(task_id)
    assert done["status"] == "done", done
    # the agent worked in a worktree of that repository and committed on the task's branch
    assert "committed it" in str(done["result"]), done["result"]
    branches = subprocess.run(
        ["git", "-C", str(repo), "log", "--all", "--format=%s"], capture_output=True, text=True
    ).stdout
    assert "hangar: add hello.txt" in branches, branches

    # --no-repo, or no repository where the command runs: it says the agent has none
    for args, cwd in ((("--no-repo",), repo), ((), hangar.tmp)):
        bare = hangar.run("issue", "create", "--title", "bare", *args, cwd=cwd)
        assert "repository" not in bare.out, bare.out
        assert "no repository: the agent works in an empty scratch directory" in bare.err
    res = hangar.run("issue", "create", "--title", "x", "--repo", str(repo), "--no-repo", ok=False)
    assert res.code == 2 and "exclude each other" in res.err


def test_an_issue_without_a_repository_names_the_agents(hangar: Hangar) -> None:
    repo = make_repo(hangar.tmp / "agents-own")
    hangar.agent("owner", "claude", "happy", "--repo", str(repo))
    made = hangar.run("issue", "create", "--title", "theirs", "--assign", "owner")
    assert f"no repository given: the agent works in its own, {repo}" in made.err, made.err
