"""Two daemons on one database: a cancel asked through one reaches the run on the other."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Hangar, pid_alive, wait_until


@pytest.fixture
def second(hangar: Hangar, database_url: str, tmp_path: Path) -> Iterator[Hangar]:
    """Another daemon (its own home, socket and token) on the first one's database."""
    home = Path(tempfile.mkdtemp(prefix="hg2-", dir="/tmp"))
    env = dict(hangar.env, AINB_HANGAR_HOME=str(home))
    if database_url.startswith("sqlite"):  # the first daemon's file, shared
        env["HANGAR_DATABASE_URL"] = f"sqlite+aiosqlite:///{hangar.home / 'hangar.db'}"
    other = Hangar(home=home, env=env, tmp=tmp_path / "second")
    try:
        yield other
    finally:
        other.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_a_cancel_through_one_daemon_stops_the_run_on_the_other(
    hangar: Hangar, second: Hangar
) -> None:
    hangar.run("workspace", "list")  # the first daemon makes the database and its default
    # the agent's runtime is the second daemon's: only it claims and runs this agent's tasks
    second.json(
        "agent", "create", "--name", "far", "--provider", "command", "--command", "sleep 60"
    )
    task_id = hangar.assign("far", "runs elsewhere")["task"]["id"]
    running = second.wait_status(task_id, {"running"})
    meta = wait_until(lambda: _meta(second, task_id), timeout=10)
    assert pid_alive(meta["pid"])

    asked = hangar.run("task", "cancel", task_id).out  # through the daemon that does not run it
    assert task_id in asked
    done = wait_until(
        lambda: (t := hangar.task(task_id))["status"] == "cancelled" and t, timeout=15, interval=0.1
    )
    assert done["failure_reason"] == "user_cancel" and done["started_at"] == running["started_at"]
    wait_until(lambda: not pid_alive(meta["pid"]), timeout=10)
    # asking again is fine, and changes nothing
    again = hangar.json("task", "cancel", task_id)
    assert again["status"] == "cancelled"


def _meta(h: Hangar, task_id: str) -> dict | None:
    for path in (h.home / "workspaces").glob("*/*/.gc_meta.json"):
        data = json.loads(path.read_text())
        if data.get("task_id") == task_id:
            return data
    return None
