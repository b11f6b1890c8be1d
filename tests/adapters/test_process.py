"""Process spawning and stopping with real processes: own group, death signal, escalation."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hangar.adapters import process, procfs

from .helpers import DEADLINE_S, eventually, eventually_sync

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux processes")

ENV = {"PATH": os.environ.get("PATH", os.defpath)}
PY = sys.executable


async def _line(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    return (await asyncio.wait_for(proc.stdout.readline(), DEADLINE_S)).decode().strip()


@pytest.fixture
async def spawned() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """Processes a test spawns; whatever is left of their groups is killed afterwards."""
    procs: list[asyncio.subprocess.Process] = []
    yield procs
    for proc in procs:
        await process.reap(proc, timeout=DEADLINE_S)


async def test_spawn_leads_its_own_session_and_group(
    tmp_path: Path, spawned: list[asyncio.subprocess.Process]
) -> None:
    proc = await process.spawn(["sleep", "60"], cwd=tmp_path, env=ENV)
    spawned.append(proc)
    st = procfs.stat(proc.pid)
    assert st is not None
    assert (st.pgid, st.session) == (proc.pid, proc.pid)
    assert os.getpgid(0) != proc.pid
    assert process.group_alive(proc.pid)


async def test_spawn_pipes_stdin_only_on_request(tmp_path: Path) -> None:
    quiet = await process.spawn(["cat"], cwd=tmp_path, env=ENV)  # /dev/null: ends at once
    assert quiet.stdin is None
    assert await quiet.stdout.read() == b""  # type: ignore[union-attr]
    fed = await process.spawn(["cat"], cwd=tmp_path, env=ENV, pipe_stdin=True)
    out, _ = await asyncio.wait_for(fed.communicate(b"hello"), DEADLINE_S)
    assert out == b"hello"
    assert await process.wait_exit_status(quiet, DEADLINE_S) == 0


async def test_spawn_runs_argv_without_a_shell(tmp_path: Path) -> None:
    proc = await process.spawn(["printf", "%s|", "$HOME", "a b;"], cwd=tmp_path, env=ENV)
    out, _ = await asyncio.wait_for(proc.communicate(), DEADLINE_S)
    assert out == b"$HOME|a b;|"


async def test_a_missing_or_unrunnable_program_is_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not found on PATH"):
        await process.spawn(["hangar-no-such-program-xyz"], cwd=tmp_path, env=ENV)
    with pytest.raises(FileNotFoundError, match="no such file"):
        await process.spawn([str(tmp_path / "nope")], cwd=tmp_path, env=ENV)
    plain = tmp_path / "plain"
    plain.write_text("#!/bin/sh\n")
    with pytest.raises(PermissionError, match="not executable"):
        await process.spawn([str(plain)], cwd=tmp_path, env=ENV)
    with pytest.raises(FileNotFoundError):
        await process.spawn([], cwd=tmp_path, env=ENV)


_ORPHANING_PARENT = textwrap.dedent(
    """
    import asyncio, sys
    from hangar.adapters import process

    if sys.argv[1] == "prctl":  # the fallback for machines without setpriv
        process.SETPRIV = None
        process.DEATH_SIGNAL_PREFIX = ()
    contain = sys.argv[1] == "contained"

    async def main():
        child = await process.spawn(
            ["sleep", "60"], cwd=".", env={"PATH": sys.argv[2]}, contain=contain
        )
        print(child.pid, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("how", ["contained", "setpriv", "prctl"])
def test_the_death_signal_kills_the_child_when_its_parent_dies(how: str) -> None:
    if how == "setpriv" and process.SETPRIV is None:
        pytest.skip("setpriv is not installed")
    parent = subprocess.Popen(
        [PY, "-c", _ORPHANING_PARENT, how, ENV["PATH"]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert procfs.pid_alive(child)
        st = procfs.stat(child)
        assert st is not None and st.session == child  # not in the parent's group
    finally:
        parent.kill()  # SIGKILL: the parent gets no chance to clean up
        parent.wait()
    eventually_sync(lambda: not procfs.pid_alive(child))


async def test_terminate_group_escalates_to_sigkill(
    tmp_path: Path, spawned: list[asyncio.subprocess.Process]
) -> None:
    # the leader and its child both ignore SIGTERM (an ignored signal stays so across exec)
    script = "trap '' TERM; sleep 60 & echo $!; wait"
    proc = await process.spawn(["sh", "-c", script], cwd=tmp_path, env=ENV)
    spawned.append(proc)
    child = int(await _line(proc))
    await process.terminate_group(proc, grace_s=0.2)
    assert proc.returncode == -signal.SIGKILL
    await eventually(lambda: not procfs.pid_alive(child))
    await eventually(lambda: not process.group_alive(proc.pid))


async def test_terminate_group_lets_a_willing_group_end_on_sigterm(
    tmp_path: Path, spawned: list[asyncio.subprocess.Process]
) -> None:
    proc = await process.spawn(["sleep", "60"], cwd=tmp_path, env=ENV)
    spawned.append(proc)
    await process.terminate_group(proc, grace_s=DEADLINE_S)
    assert proc.returncode == -signal.SIGTERM


async def test_wait_leader_exit_does_not_wait_for_pipes_held_by_a_child(
    tmp_path: Path, spawned: list[asyncio.subprocess.Process]
) -> None:
    # uncontained, the leader is the program, and its background child outlives it (a
    # contained program's watchdog kills that child before it exits: test_subreaper.py)
    proc = await process.spawn(
        ["sh", "-c", "sleep 60 & echo $!"], cwd=tmp_path, env=ENV, contain=False
    )
    spawned.append(proc)
    child = int(await _line(proc))
    await asyncio.wait_for(process.wait_leader_exit(proc), DEADLINE_S)
    assert await process.wait_exit_status(proc, DEADLINE_S) == 0
    assert procfs.pid_alive(child)  # still holding stdout: proc.wait() would block here
    assert process.kill_group(proc.pid)
    await eventually(lambda: not procfs.pid_alive(child))


async def test_reap_kills_the_group_and_returns_the_status(tmp_path: Path) -> None:
    proc = await process.spawn(["sleep", "60"], cwd=tmp_path, env=ENV, pipe_stdin=True)
    assert await process.reap(proc, timeout=DEADLINE_S) == -signal.SIGKILL
    await eventually(lambda: not process.group_alive(proc.pid))
    assert process.kill_group(proc.pid) is False  # already gone


async def test_end_processes_spares_a_reused_pid(
    tmp_path: Path, spawned: list[asyncio.subprocess.Process]
) -> None:
    proc = await process.spawn(["sleep", "60"], cwd=tmp_path, env=ENV)
    spawned.append(proc)
    members = procfs.session_members(proc.pid)
    assert [pid for pid, _ in members] == [proc.pid]
    impostor = [(proc.pid, members[0][1] + 1)]  # as if the pid had been reused
    assert await process.end_processes(impostor, grace_s=0.1) == []
    assert procfs.pid_alive(proc.pid)
    assert await process.end_processes(members, grace_s=DEADLINE_S) == []  # TERM was enough
    assert await process.wait_exit_status(proc, DEADLINE_S) == -signal.SIGTERM
