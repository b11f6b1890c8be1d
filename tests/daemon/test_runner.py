"""The real TaskRunner, in-process: claimed by the daemon's dispatcher, running small real
commands (and the fake Claude CLI), finalized through the lifecycle. The watchdogs run on
the monotonic clock, so their tests use short limits and wait with a deadline."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hangar.core.clock import FixedClock
from hangar.core.ids import short_id
from hangar.daemon.tasks.meta import read_meta
from hangar.daemon.tasks.runner import TaskRunner
from hangar.proto.events import TaskFinished, TaskMessage, TaskProgress, TaskStarted
from hangar.testing import InProcessDaemon, daemon_in_process, wait_for
from tests.daemon.helpers import claude_command, make_agent, seed_home, task_row

pytestmark = pytest.mark.usefixtures("migrated")


#: fake_claude's session id and model (tests/fixtures/fake_claude.py)
CLAUDE_SESSION = "3f6c1b2e-8a41-4d7e-b0c2-5e9a7d1f4c20"


async def run_one(hangar: InProcessDaemon, agent: str, **issue: Any) -> dict[str, Any]:
    """File an issue assigned to ``agent``, run it to its end, return the task row."""
    made = await hangar.call("hangar/issue_create", {"title": "t", "assign": agent, **issue})
    await hangar.dispatch()
    return await task_row(hangar, made["task"]["id"])


async def messages(hangar: InProcessDaemon, task_id: str) -> list[dict[str, Any]]:
    return (await hangar.call("hangar/task_messages", {"task_id": task_id}))["messages"]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


async def test_a_command_that_exits_zero_is_done(hangar: InProcessDaemon) -> None:
    await make_agent(hangar, "ok", ["sh", "-c", "echo all good"])

    task = await run_one(hangar, "ok")

    assert task["status"] == "done"
    assert task["failure_reason"] is None
    assert task["result"]["exit_code"] == 0
    assert "all good" in task["result"]["content"]
    assert task["started_at"] is not None and task["work_dir"]
    assert [m["body"] for m in await messages(hangar, task["id"])] == ["all good"]


async def test_a_command_that_exits_non_zero_fails_as_agent_error(
    hangar: InProcessDaemon,
) -> None:
    await make_agent(hangar, "bad", ["sh", "-c", "echo hi; echo oops >&2; exit 3"])

    task = await run_one(hangar, "bad")

    assert (task["status"], task["failure_reason"]) == ("failed", "agent_error")
    assert task["result"]["exit_code"] == 3
    assert "oops" in task["result"]["error"]
    lanes = [(m["kind"], m["body"]) for m in await messages(hangar, task["id"])]
    assert lanes[0] == ("agent", "hi")
    assert lanes[-1][0] == "error" and "oops" in lanes[-1][1]
    assert task["attempt"] == 1
    tasks = (await hangar.call("hangar/tasks_list", {}))["tasks"]
    assert len(tasks) == 1  # an agent error is not retried


async def test_exit_75_fails_as_runtime_offline_and_is_retried(hangar: InProcessDaemon) -> None:
    await make_agent(hangar, "flaky", ["sh", "-c", "exit 75"])

    task = await run_one(hangar, "flaky")

    assert (task["status"], task["failure_reason"]) == ("failed", "runtime_offline")
    children = (await hangar.call("hangar/tasks_list", {"status": "queued"}))["tasks"]
    assert [(c["parent_task_id"], c["attempt"]) for c in children] == [(task["id"], 2)]


async def test_a_missing_executable_is_a_spawn_error(
    hangar: InProcessDaemon, tmp_path: Path
) -> None:
    exe = tmp_path / "agent.sh"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    await make_agent(hangar, "gone", [str(exe)])
    exe.unlink()  # uninstalled after the agent was registered

    task = await run_one(hangar, "gone")

    assert (task["status"], task["failure_reason"]) == ("failed", "spawn_error")
    assert task["started_at"] is None  # it never ran
    assert f"cannot start agent {str(exe)!r}" in task["result"]["error"]
    [note] = await messages(hangar, task["id"])
    assert note["kind"] == "error" and "cannot start agent" in note["body"]


async def test_silence_past_the_inactivity_timeout_kills_the_whole_group(
    hangar: InProcessDaemon,
) -> None:
    # fake_claude "hang" leaves a `sleep` child in its group, says its pid, then goes quiet
    await make_agent(
        hangar, "quiet", claude_command("hang"), provider="claude", inactivity_timeout_ms=1000
    )

    task = await run_one(hangar, "quiet")

    assert (task["status"], task["failure_reason"]) == ("failed", "timeout")
    assert "inactivity timeout" in task["result"]["error"]
    said = [m["body"] for m in await messages(hangar, task["id"]) if m["kind"] == "agent"]
    [child_pid] = [int(b.split()[-1]) for b in said if b.startswith("child pid")]
    await wait_for(lambda: not pid_alive(child_pid), timeout=10)


async def test_a_run_past_its_max_runtime_is_stopped_though_it_keeps_talking(
    hangar: InProcessDaemon,
) -> None:
    # one process, no children: a killed child would linger as a zombie until init reaps it
    loop = "import time\nwhile True:\n    print('tick', flush=True)\n    time.sleep(0.05)"
    chatty = [sys.executable, "-c", loop]
    await make_agent(hangar, "chatty", chatty, max_runtime_ms=1000)

    task = await run_one(hangar, "chatty")

    assert (task["status"], task["failure_reason"]) == ("failed", "timeout")
    assert "max runtime" in task["result"]["error"]
    assert "tick" in task["result"]["content"]  # what it said before is kept


async def test_a_claude_transcript_is_stored_in_order_and_streamed(
    hangar: InProcessDaemon,
) -> None:
    await make_agent(hangar, "claude", claude_command("happy"), provider="claude")
    events = await hangar.subscribe()

    task = await run_one(hangar, "claude")

    assert task["status"] == "done"
    assert task["session_id"] == CLAUDE_SESSION
    stored = await messages(hangar, task["id"])
    assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1))
    kinds = [m["kind"] for m in stored]
    assert kinds[:3] == ["thinking", "tool_call", "tool_result"]
    assert "agent" in kinds
    streamed = [e for e in events.drain() if isinstance(e, TaskMessage)]
    assert [(e.seq, e.kind, e.body) for e in streamed] == [
        (m["seq"], m["kind"], m["body"]) for m in stored
    ]
    progress = [e for e in events.drain() if isinstance(e, TaskProgress)]
    assert [p.tool_calls for p in progress] == [1]
    names = [type(e).__name__ for e in events.drain() if not isinstance(e, TaskMessage)]
    assert names.index("TaskStarted") < names.index("TaskFinished")
    assert next(e for e in events.drain() if isinstance(e, TaskStarted)).task_id == task["id"]
    detail = await hangar.call("hangar/task_get", {"task_id": task["id"]})
    assert detail["message_count"] == len(stored)
    assert [u["cost_usd"] for u in detail["usage"]] == [pytest.approx(0.0123)]


async def test_cancel_of_a_running_agent_answers_with_the_row_cancelled_and_the_group_gone(
    hangar: InProcessDaemon,
) -> None:
    await make_agent(hangar, "sleepy", ["sleep", "60"])
    events = await hangar.subscribe()
    made = await hangar.call("hangar/issue_create", {"title": "t", "assign": "sleepy"})
    task_id = made["task"]["id"]
    await hangar.dispatcher.refresh_runtimes()
    await hangar.dispatcher.fill_slots()
    slug = (await hangar.store.workspace_default()).slug
    root = hangar.daemon.paths.task_root(slug, short_id(task_id))
    meta = await wait_for(lambda: read_meta(root))
    assert group_alive(meta["pgid"])

    row = await hangar.call("hangar/task_cancel", {"task_id": task_id})

    assert (row["status"], row["failure_reason"]) == ("cancelled", "user_cancel")
    assert not group_alive(meta["pgid"])
    assert task_id not in hangar.dispatcher.runs
    finished = [e for e in events.drain() if isinstance(e, TaskFinished)]
    assert [(e.task_id, e.result) for e in finished] == [(task_id, "cancelled")]
    issue = await hangar.call("hangar/issue_get", {"issue_id": made["issue"]["id"]})
    assert issue["issue"]["state"] == "open"


async def test_a_shutdown_mid_run_fails_it_as_runtime_offline_for_a_retry(
    hangar: InProcessDaemon,
) -> None:
    await make_agent(hangar, "sleepy", ["sleep", "60"])
    made = await hangar.call("hangar/issue_create", {"title": "t", "assign": "sleepy"})
    task_id = made["task"]["id"]
    await hangar.dispatcher.refresh_runtimes()
    await hangar.dispatcher.fill_slots()
    await wait_for(_status_is(hangar, task_id, "running"))

    await hangar.dispatcher.shutdown()

    task = await task_row(hangar, task_id)
    assert (task["status"], task["failure_reason"]) == ("failed", "runtime_offline")
    assert "shut down" in task["result"]["error"]
    children = (await hangar.call("hangar/tasks_list", {"status": "queued"}))["tasks"]
    assert [c["parent_task_id"] for c in children] == [task_id]
    assert hangar.dispatcher.runs == {}


def _status_is(hangar: InProcessDaemon, task_id: str, status: str) -> Any:
    async def check() -> bool:
        return (await task_row(hangar, task_id))["status"] == status

    return check


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "T",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "T",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


async def test_a_task_on_a_repository_runs_in_its_own_worktree_branch(
    hangar: InProcessDaemon, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "README").write_text("hello\n")
    _git(repo, "add", "README")
    _git(repo, "commit", "-q", "-m", "init")
    where = ["sh", "-c", "git rev-parse --abbrev-ref HEAD; pwd; cat README"]
    await make_agent(hangar, "gitty", where, repo_path=str(repo))

    task = await run_one(hangar, "gitty")

    assert task["status"] == "done", task["result"]
    branch, cwd, readme = task["result"]["content"].splitlines()
    assert branch == f"hangar/task/{short_id(task['id'])}"
    assert cwd == task["work_dir"]
    assert Path(cwd) != repo and not Path(cwd).is_relative_to(repo)
    assert readme == "hello"
    # the run committed nothing: its clean worktree and its branch are gone again
    assert not Path(cwd).exists() and not _git(repo, "branch", "--list", branch)
    assert _git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"  # the checkout untouched


async def test_a_repository_gone_since_the_agent_was_made_is_a_spawn_error(
    hangar: InProcessDaemon, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    await make_agent(hangar, "gitty", ["true"], repo_path=str(repo))
    shutil.rmtree(repo)

    task = await run_one(hangar, "gitty")

    assert (task["status"], task["failure_reason"]) == ("failed", "spawn_error")
    assert str(repo) in task["result"]["error"]


@dataclass
class Gate:
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    opened: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
def slow_setup(monkeypatch: pytest.MonkeyPatch) -> Gate:
    """Provisioning stops at a gate (``reached``) until the test opens it."""
    gate = Gate()
    real = TaskRunner._provision

    async def held(self: TaskRunner, *args: Any) -> Path:
        gate.reached.set()
        await gate.opened.wait()
        return await real(self, *args)

    monkeypatch.setattr(TaskRunner, "_provision", held)
    return gate


async def test_a_cancel_during_setup_ends_the_run_before_the_agent_starts(
    hangar: InProcessDaemon, tmp_path: Path, slow_setup: Gate
) -> None:
    marker = tmp_path / "ran"
    await make_agent(hangar, "toucher", ["touch", str(marker)])
    made = await hangar.call("hangar/issue_create", {"title": "t", "assign": "toucher"})
    task_id = made["task"]["id"]
    await hangar.dispatcher.refresh_runtimes()
    await hangar.dispatcher.fill_slots()
    await asyncio.wait_for(slow_setup.reached.wait(), 10)

    cancelling = asyncio.create_task(hangar.call("hangar/task_cancel", {"task_id": task_id}))
    await wait_for(_cancel_marked(hangar, task_id))
    assert not cancelling.done()  # waits for the run to stop
    slow_setup.opened.set()
    row = await asyncio.wait_for(cancelling, 10)

    assert (row["status"], row["started_at"]) == ("cancelled", None)
    assert not marker.exists()


async def test_a_cancel_asked_elsewhere_during_setup_stops_the_agent_once_started(
    hangar: InProcessDaemon, slow_setup: Gate
) -> None:
    await make_agent(hangar, "sleepy", ["sleep", "60"])
    made = await hangar.call("hangar/issue_create", {"title": "t", "assign": "sleepy"})
    task_id, ws = made["task"]["id"], made["task"]["workspace_id"]
    await hangar.dispatcher.refresh_runtimes()
    await hangar.dispatcher.fill_slots()
    await asyncio.wait_for(slow_setup.reached.wait(), 10)

    await hangar.store.task_request_cancel(ws, task_id)  # the mark alone, as another host makes it
    slow_setup.opened.set()
    await hangar.dispatcher.drain(20)

    task = await task_row(hangar, task_id)
    assert (task["status"], task["failure_reason"]) == ("cancelled", "user_cancel")
    assert task["started_at"] is not None  # it was spawned, then stopped


def _cancel_marked(hangar: InProcessDaemon, task_id: str) -> Any:
    async def check() -> bool:
        return (await task_row(hangar, task_id))["cancel_requested_at"] is not None

    return check


@pytest.fixture
async def leaky(
    tmp_path: Path, clock: FixedClock, migrated_db: Path
) -> AsyncIterator[InProcessDaemon]:
    """A daemon whose own environment holds a secret and a loader hook."""
    home = seed_home(tmp_path / "h2", migrated_db)
    env = {"SECRET_TOKEN": "s3cret", "LD_PRELOAD": "/nonexistent/x.so", "HOME": "/home/agent"}
    async with daemon_in_process(home, clock=clock, env=env) as daemon:
        yield daemon


async def test_the_agent_gets_the_policy_environment_and_its_stamps(
    leaky: InProcessDaemon,
) -> None:
    await make_agent(leaky, "envy", claude_command("env"), provider="claude")

    task = await run_one(leaky, "envy")

    assert task["status"] == "done"
    said = dict(
        m["body"].removeprefix("ENV ").split("=", 1)
        for m in await messages(leaky, task["id"])
        if m["kind"] == "agent" and m["body"].startswith("ENV ")
    )
    assert said["SECRET_TOKEN"] == "<unset>"  # not on the allowlist
    assert said["LD_PRELOAD"] == "<unset>"  # the deny family, whatever the allowlist says
    assert said["HOME"] == "/home/agent"
    assert said["HANGAR_TASK_ID"] == task["id"]
    assert said["HANGAR_ISSUE_ID"] == task["issue_id"]
    assert said["HANGAR_WORKSPACE"] == (await leaky.store.workspace_default()).slug
