"""Ending what is left of a tmux pane's processes: by pid *and* start time, nothing else."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from hangar.adapters import process, procfs
from tests.e2e.harness import pid_alive, wait_until

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.fixture
def stubborn() -> Iterator[subprocess.Popen[bytes]]:
    """A session leader and its child, both ignoring SIGTERM (and SIGHUP)."""
    proc = subprocess.Popen(
        ["sh", "-c", "trap '' TERM HUP; sleep 60 & wait"], start_new_session=True
    )
    yield proc
    proc.kill()
    proc.wait()


def _members(sid: int) -> list[process.ProcessId]:
    deadline = time.monotonic() + 5
    while len(found := procfs.session_members(sid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


async def test_members_that_ignore_sigterm_are_killed(stubborn: subprocess.Popen[bytes]) -> None:
    members = _members(stubborn.pid)
    assert len(members) == 2 and stubborn.pid in [pid for pid, _ in members]
    killed = await process.end_processes(members, grace_s=0.3)
    assert sorted(killed) == sorted(pid for pid, _ in members)
    stubborn.wait(5)
    # SIGKILL takes effect when each process is next scheduled, not at once
    assert wait_until(lambda: not any(pid_alive(pid) for pid, _ in members), timeout=5)


async def test_a_pid_with_another_start_time_is_never_touched(
    stubborn: subprocess.Popen[bytes],
) -> None:
    members = _members(stubborn.pid)
    impostors = [(pid, start + 1) for pid, start in members]  # as if the pids were reused
    assert await process.end_processes(impostors, grace_s=0.2) == []
    assert all(pid_alive(pid) for pid, _ in members)
