"""The daemon under stress and at its edges: stragglers, floods, caps, stop, the lock."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys

from tests.e2e.harness import Hangar, pid_alive, wait_until
from tests.e2e.test_socket import Raw


def test_a_background_child_does_not_hold_a_finished_run_open(hangar: Hangar) -> None:
    # the agent exits at once but leaves a child holding its stdout
    hangar.json(
        "agent",
        "create",
        "--name",
        "bg",
        "--provider",
        "command",
        "--command",
        "sh -c 'sleep 120 & echo bg=$!'",
    )
    task_id = hangar.assign("bg")["task"]["id"]
    task = hangar.wait_done(task_id, timeout=15)  # not the 30-minute inactivity timeout
    assert task["status"] == "done"
    found = re.search(r"bg=(\d+)", " ".join(m["body"] for m in hangar.messages(task_id)))
    assert found
    wait_until(lambda: not pid_alive(int(found.group(1))), timeout=10)  # reaped, no orphan


def test_an_oversized_output_line_is_dropped_and_the_rest_kept(hangar: Hangar) -> None:
    script = "import sys; sys.stdout.write('x' * (17 * 1024 * 1024) + '\\n'); print('after')"
    hangar.json(
        "agent",
        "create",
        "--name",
        "flood",
        "--provider",
        "command",
        "--command",
        f'{sys.executable} -c "{script}"',
    )
    task_id = hangar.assign("flood")["task"]["id"]
    assert hangar.wait_done(task_id, timeout=60)["status"] == "done"
    bodies = [m["body"] for m in hangar.messages(task_id)]
    assert "after" in bodies
    assert all(len(b) < 10_000 for b in bodies)


def test_the_daemon_wide_slot_cap_holds(hangar: Hangar) -> None:
    hangar.env["HANGAR_MAX_SLOTS"] = "1"
    hangar.json(
        "agent",
        "create",
        "--name",
        "wide",
        "--provider",
        "command",
        "--command",
        "sleep 0.5",
        "--max-concurrent-tasks",
        "4",
    )
    ids = [hangar.assign("wide", f"job {n}")["task"]["id"] for n in range(3)]
    tasks = sorted((hangar.wait_done(i) for i in ids), key=lambda t: t["started_at"])
    assert all(t["status"] == "done" for t in tasks)
    for before, after in itertools.pairwise(tasks):
        assert after["started_at"] >= before["finished_at"]  # one at a time


def test_stop_during_a_run_retries_it_on_the_next_start(hangar: Hangar) -> None:
    hangar.json(
        "agent", "create", "--name", "long", "--provider", "command", "--command", "sleep 30"
    )
    task_id = hangar.assign("long")["task"]["id"]
    hangar.wait_status(task_id, {"running"})
    hangar.run("daemon", "stop")
    task = hangar.task(task_id)  # restarts the daemon
    assert task["status"] == "failed" and task["failure_reason"] == "runtime_offline"
    child = next(t for t in hangar.json("task", "list") if t["parent_task_id"] == task_id)
    assert child["attempt"] == 2
    hangar.wait_status(child["id"], {"running"})
    hangar.run("task", "cancel", child["id"])


def test_only_one_daemon_per_home(hangar: Hangar) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "hangar.daemon"],
            env=hangar.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        wait_until(lambda: any(p.poll() is not None for p in procs), timeout=30)
        loser = next(p for p in procs if p.poll() is not None)
        winner = next(p for p in procs if p is not loser)
        assert loser.returncode == 0
        assert "already running" in loser.stderr.read()
        wait_until(lambda: hangar.daemon_pid == winner.pid, timeout=30)
        assert hangar.json("daemon", "status")["pid"] == winner.pid
    finally:
        hangar.stop()
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait(10)


def test_task_transition_allows_only_what_a_person_may_do(hangar: Hangar) -> None:
    hangar.json("agent", "create", "--name", "s", "--provider", "command", "--command", "sleep 30")
    task_id = hangar.assign("s")["task"]["id"]
    hangar.wait_status(task_id, {"running"})
    raw = Raw(hangar)
    raw.hello()
    done = raw.call("hangar/task_transition", {"task_id": task_id, "to_status": "done"}, id=2)
    assert done["error"]["code"] == -32602 and "illegal transition" in done["error"]["message"]
    bogus = raw.call("hangar/task_transition", {"task_id": task_id, "to_status": "bogus"}, id=3)
    assert bogus["error"]["code"] == -32602
    assert hangar.task(task_id)["status"] == "running"
    ok = raw.call("hangar/task_transition", {"task_id": task_id, "to_status": "cancelled"}, id=4)
    assert ok["result"] == {}
    assert hangar.task(task_id)["status"] == "cancelled"
    again = raw.call("hangar/task_transition", {"task_id": task_id, "to_status": "queued"}, id=5)
    assert again["result"] == {}
    assert len(hangar.json("task", "list")) == 2  # re-queued as a retry
    for t in hangar.json("task", "list"):
        if t["status"] not in ("cancelled", "failed", "done"):
            hangar.run("task", "cancel", t["id"])


def test_a_bad_env_allow_file_stops_the_daemon_with_one_clear_line(hangar: Hangar) -> None:
    (hangar.home / "env.allow.toml").write_text('[env]\nallow = ["HOME", "*"]\n')
    res = hangar.run("daemon", "start", ok=False)
    assert res.code == 3
    assert len(res.err.strip().splitlines()) == 1
    assert "env.allow.toml" in res.err
