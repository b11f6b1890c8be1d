"""Task lifecycle end to end: the real CLI → the real socket → the daemon → fake agents."""

from __future__ import annotations

import json
import os
import re
import subprocess

from tests.e2e.harness import Hangar, make_repo, pid_alive, wait_until


def test_happy_path_runs_in_its_own_worktree_and_captures_everything(hangar: Hangar) -> None:
    hangar.env["HANGAR_KEEP_WORKTREES"] = "1"  # to look inside the worktree afterwards
    repo = make_repo(hangar.tmp / "repo")
    hangar.agent("claude-bot", "claude", "happy", "--repo", str(repo), "--model", "sonnet")
    res = hangar.assign("claude-bot", "Say hello", "--description", "Greet the user.")
    task_id = res["task"]["id"]

    task = hangar.wait_done(task_id)
    assert task["status"] == "done", task
    assert task["session_id"]
    assert task["result"]["content"]
    detail = hangar.json("task", "show", task_id)
    assert detail["usage"] and detail["usage"][0]["input_tokens"] > 0
    assert any(u["cost_usd"] for u in detail["usage"])

    kinds = [m["kind"] for m in hangar.messages(task_id)]
    for lane in ("thinking", "tool_call", "tool_result", "agent"):
        assert lane in kinds, kinds
    seqs = [m["seq"] for m in hangar.messages(task_id)]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    # its own worktree of the repo, on its own branch, outside of which the repo is untouched
    workdir = task["work_dir"]
    branch = subprocess.run(
        ["git", "-C", workdir, "branch", "--show-current"], capture_output=True, text=True
    ).stdout.strip()
    assert re.fullmatch(r"hangar/task/[0-9a-z]{8}", branch), branch
    assert branch.endswith(task_id[-8:].lower())
    status = subprocess.run(
        ["git", "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True
    )
    assert status.stdout == ""

    issue = hangar.json("issue", "show", res["issue"]["id"])
    assert issue["issue"]["state"] == "done"
    assert [t["id"] for t in issue["tasks"]] == [task_id]


def test_agent_reported_error_fails_without_retry(hangar: Hangar) -> None:
    hangar.agent("err-bot", "claude", "is_error")
    task_id = hangar.assign("err-bot")["task"]["id"]
    task = hangar.wait_done(task_id)
    assert task["status"] == "failed"
    assert task["failure_reason"] == "agent_error"
    assert "API Error" in task["result"]["error"]
    assert len(hangar.json("task", "list")) == 1  # agent_error is not retried


def test_crash_without_result_line_is_agent_error_with_stderr(hangar: Hangar) -> None:
    hangar.agent("crash-bot", "claude", "crash")
    task_id = hangar.assign("crash-bot")["task"]["id"]
    task = hangar.wait_done(task_id)
    assert task["status"] == "failed" and task["failure_reason"] == "agent_error"
    assert "boom" in task["result"]["error"]
    assert any(m["kind"] == "error" for m in hangar.messages(task_id))


def _child_pid(hangar: Hangar, task_id: str) -> int:
    def find() -> int | None:
        for m in hangar.messages(task_id):
            if found := re.search(r"child pid (\d+)", m["body"]):
                return int(found.group(1))
        return None

    return int(wait_until(find, timeout=20))


def test_inactivity_timeout_kills_the_whole_process_group(hangar: Hangar) -> None:
    # 10 s of silence: finding the child (CLI polls on a busy machine) must not outlast it
    hangar.agent("hang-bot", "claude", "hang", "--inactivity-timeout", "10s")
    task_id = hangar.assign("hang-bot")["task"]["id"]
    child = _child_pid(hangar, task_id)
    assert pid_alive(child)  # the real `sleep 3600`, alive before the timeout fires
    task = hangar.wait_done(task_id, timeout=30)
    assert task["status"] == "failed" and task["failure_reason"] == "timeout"
    assert "inactivity" in task["result"]["error"]
    wait_until(lambda: not pid_alive(child), timeout=10)  # no orphans


def test_cancel_mid_run_kills_the_agent_and_keeps_the_transcript(hangar: Hangar) -> None:
    hangar.agent("hang-bot", "claude", "hang")
    task_id = hangar.assign("hang-bot")["task"]["id"]
    hangar.wait_status(task_id, {"running"})
    child = _child_pid(hangar, task_id)  # the agent's own child, in its process group
    before = len(hangar.messages(task_id))
    hangar.run("task", "cancel", task_id)
    task = hangar.task(task_id)
    assert task["status"] == "cancelled" and task["failure_reason"] == "user_cancel"
    wait_until(lambda: not pid_alive(child), timeout=10)  # the whole group is gone
    assert len(hangar.messages(task_id)) >= before  # the transcript is kept
    again = hangar.json("task", "cancel", task_id)  # idempotent: a no-op, not an error
    assert again["status"] == "cancelled" and again["finished_at"] == task["finished_at"]
    assert hangar.json("issue", "show", task["issue_id"])["issue"]["state"] == "open"


def test_max_runtime_kills_a_busy_run(hangar: Hangar) -> None:
    hangar.agent("slow-bot", "claude", "slow", "--max-runtime", "2s")
    task = hangar.wait_done(hangar.assign("slow-bot")["task"]["id"], timeout=30)
    assert task["status"] == "failed" and task["failure_reason"] == "timeout"
    assert "max runtime" in task["result"]["error"]
    assert len(hangar.messages(task["id"])) >= 3  # it was talking the whole time


def test_retry_chain_is_capped_and_manual_retry_requeues(hangar: Hangar) -> None:
    hangar.agent("flaky-bot", "claude", "tempfail")
    first = hangar.assign("flaky-bot")["task"]["id"]
    first_task = hangar.wait_done(first)
    assert first_task["failure_reason"] == "runtime_offline"

    def chain() -> list[dict]:
        rows = hangar.json("task", "list")
        return rows if len(rows) == 2 and all(r["status"] == "failed" for r in rows) else []

    rows = wait_until(chain, timeout=30)
    child = next(r for r in rows if r["id"] != first)
    assert child["parent_task_id"] == first and child["attempt"] == 2
    # max_attempts 2: no third automatic attempt
    assert len(hangar.json("task", "list")) == 2

    manual = hangar.json("task", "retry", child["id"])
    assert manual["attempt"] == 3 and manual["parent_task_id"] == child["id"]
    assert hangar.wait_done(manual["id"])["status"] == "failed"


def test_pr_url_is_captured_into_the_result(hangar: Hangar) -> None:
    hangar.agent("pr-bot", "claude", "pr")
    task_id = hangar.assign("pr-bot")["task"]["id"]
    task = hangar.wait_done(task_id)
    assert task["status"] == "done"
    assert task["result"]["pr_url"] == "https://github.com/acme/web/pull/88"


def test_env_allowlist_strips_the_deny_family(hangar: Hangar) -> None:
    hangar.env["LD_PRELOAD"] = ""  # set but empty: no loader noise, still must not pass
    hangar.env["SECRET_TOKEN"] = "hunter2"
    hangar.run("daemon", "start")
    hangar.agent("env-bot", "claude", "env")
    res = hangar.assign("env-bot")
    task_id = res["task"]["id"]
    assert hangar.wait_done(task_id)["status"] == "done"
    lines = {
        k: v
        for m in hangar.messages(task_id)
        for line in m["body"].splitlines()
        if line.startswith("ENV ")
        for k, _, v in [line[4:].partition("=")]
    }
    assert lines["LD_PRELOAD"] == "<unset>"
    assert lines["SECRET_TOKEN"] == "<unset>"
    assert lines["HOME"] not in ("", "<unset>")
    assert lines["HANGAR_TASK_ID"] == task_id
    assert lines["HANGAR_ISSUE_ID"] == res["issue"]["id"]
    assert lines["HANGAR_WORKSPACE"] == "default"


def test_codex_and_command_providers_run(hangar: Hangar) -> None:
    hangar.agent("codex-bot", "codex", "happy")
    t1 = hangar.assign("codex-bot")["task"]["id"]
    hangar.json(
        "agent",
        "create",
        "--instructions",
        "You are terse.",
        "--name",
        "echo-bot",
        "--provider",
        "command",
        "--command",
        "sh -c 'cat; echo issue=$HANGAR_ISSUE_ID'",
    )
    res = hangar.assign("echo-bot", "Echo me")
    t2 = res["task"]["id"]
    assert hangar.wait_done(t1)["status"] == "done"
    done = hangar.wait_done(t2)
    assert done["status"] == "done"
    bodies = [m["body"] for m in hangar.messages(t2)]
    # the prompt is the agent's instructions, then the issue's title (and description)
    assert bodies[:2] == ["You are terse.", "# Echo me"]
    assert f"issue={res['issue']['id']}" in bodies


def test_missing_agent_executable_fails_as_spawn_error(hangar: Hangar) -> None:
    # the CLI existed when the agent was created and vanished before the run
    fake = hangar.tmp / "bin" / "vanishing-claude"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    hangar.json("agent", "create", "--name", "gone", "--provider", "claude", "--command", str(fake))
    fake.unlink()
    task = hangar.wait_done(hangar.assign("gone")["task"]["id"])
    assert task["status"] == "failed" and task["failure_reason"] == "spawn_error"
    assert "vanishing-claude" in task["result"]["error"]


def test_repo_that_stopped_being_a_repo_fails_as_spawn_error(hangar: Hangar) -> None:
    repo = make_repo(hangar.tmp / "repo")
    hangar.agent("bot", "claude", "happy", "--repo", str(repo))
    import shutil

    shutil.rmtree(repo / ".git")
    task = hangar.wait_done(hangar.assign("bot")["task"]["id"])
    assert task["status"] == "failed" and task["failure_reason"] == "spawn_error"
    assert "not a git repository" in task["result"]["error"]


def test_codex_terminal_event_beats_its_exit_code(hangar: Hangar) -> None:
    hangar.agent("codex-liar", "codex", "failed")
    task = hangar.wait_done(hangar.assign("codex-liar")["task"]["id"])
    assert task["status"] == "failed" and task["failure_reason"] == "agent_error"


def test_max_concurrent_tasks_is_respected(hangar: Hangar) -> None:
    hangar.json(
        "agent",
        "create",
        "--name",
        "one-at-a-time",
        "--provider",
        "command",
        "--command",
        "sh -c 'sleep 0.5'",
    )
    a = hangar.assign("one-at-a-time", "first")["task"]["id"]
    b = hangar.assign("one-at-a-time", "second")["task"]["id"]
    ta, tb = hangar.wait_done(a), hangar.wait_done(b)
    assert ta["status"] == tb["status"] == "done"
    assert tb["started_at"] >= ta["finished_at"]  # never both running at once


def test_kill_9_then_restart_recovers_and_reaps_orphans(hangar: Hangar) -> None:
    hangar.agent("hang-bot", "claude", "hang")
    task_id = hangar.assign("hang-bot")["task"]["id"]
    child = _child_pid(hangar, task_id)
    leader = json.loads(next((hangar.home / "workspaces").glob("*/*/.gc_meta.json")).read_text())
    hangar.kill_daemon()
    # the agent dies with the daemon (PDEATHSIG), before anything restarts it
    wait_until(lambda: not pid_alive(leader["pid"]), timeout=10)
    # any command brings the daemon back; recovery runs before it serves
    task = hangar.task(task_id)
    assert task["status"] == "failed" and task["failure_reason"] == "runtime_recovery"
    wait_until(lambda: not pid_alive(child), timeout=10)
    rows = hangar.json("task", "list")
    retry = next(r for r in rows if r["parent_task_id"] == task_id)
    assert retry["attempt"] == 2
    hangar.run("task", "cancel", retry["id"])


def test_a_task_is_retried_once_and_the_cap_is_explained(hangar: Hangar) -> None:
    hangar.json("agent", "create", "--name", "no", "--provider", "command", "--command", "false")
    first = hangar.assign("no")["task"]["id"]
    assert hangar.wait_done(first)["status"] == "failed"  # agent_error: no automatic retry
    second = hangar.json("task", "retry", first)
    assert hangar.wait_done(second["id"])["status"] == "failed"
    again = hangar.run("task", "retry", first, ok=False)
    assert again.code == 1 and f"already retried as {second['id']}" in again.err, again.err
    third = hangar.json("task", "retry", second["id"])
    assert third["attempt"] == 3
    shown = hangar.run("task", "show", third["id"]).out
    assert "3 (retried by hand; automatic retries stop at 2)" in shown, shown


def test_task_clean_removes_what_holds_no_work(hangar: Hangar) -> None:
    hangar.env["HANGAR_KEEP_WORKTREES"] = "1"  # every ended task leaves its worktree
    repo = make_repo(hangar.tmp / "repo")
    hangar.json(
        "agent", "create", "--name", "idle", "--provider", "command", "--command", "true",
        "--repo", str(repo),
    )  # fmt: skip
    task = hangar.wait_done(hangar.assign("idle")["task"]["id"])
    assert os.path.isdir(task["work_dir"])
    dry = hangar.run("task", "clean", "--dry-run").out
    assert task["id"] in dry and "would be removed" in dry and os.path.isdir(task["work_dir"])
    hangar.run("task", "clean")
    assert not os.path.exists(task["work_dir"])
    branches = subprocess.run(
        ["git", "-C", str(repo), "branch", "--list", "hangar/task/*"],
        capture_output=True,
        text=True,
    ).stdout
    assert branches.strip() == ""
    assert "nothing to clean" in hangar.run("task", "clean").out
