"""Agent processes: each in its own process group, dying with the daemon, killed whole."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import os
import shutil
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1
#: asyncio's default 64 KiB line limit is too small for a stream-json tool result.
STREAM_LIMIT = 16 * 1024 * 1024


# loaded once here: the child runs between fork and exec, where loading libraries is slow
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


#: util-linux ``setpriv --pdeathsig`` sets the same death signal and then execs the agent, so
#: the fork needs no preexec_fn: CPython then takes its vfork path instead of a full fork
#: that holds the GIL (a quarter of the daemon's CPU under load).
_SETPRIV = shutil.which("setpriv") if sys.platform.startswith("linux") else None


def _death_wrapper() -> list[str]:
    return [_SETPRIV, "--pdeathsig", "KILL", "--"] if _SETPRIV else []


async def spawn(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdin_data: bytes | None,
) -> asyncio.subprocess.Process:
    """Start ``argv`` (never a shell string) as the leader of a new process group.

    The executable is resolved on the child's PATH first, so a missing CLI is an OSError
    here rather than an exit code from the wrapper."""
    exe = shutil.which(argv[0], path=env.get("PATH", os.defpath)) if argv else None
    if exe is None:
        name = argv[0] if argv else "(empty argv)"
        raise FileNotFoundError(errno.ENOENT, "not found on the agent's PATH", name)
    return await asyncio.create_subprocess_exec(
        *_death_wrapper(),
        exe,
        *argv[1:],
        cwd=str(cwd),
        env=dict(env),
        stdin=asyncio.subprocess.PIPE if stdin_data is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        preexec_fn=None if _SETPRIV else _die_with_parent,
        limit=STREAM_LIMIT,
    )


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> bool:
    """Signal a whole process group; False when it is already gone."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


async def terminate_group(proc: asyncio.subprocess.Process, grace_s: float = 3.0) -> None:
    """SIGTERM the group, wait ``grace_s``, then SIGKILL whatever is left of it."""
    pgid = proc.pid
    kill_group(pgid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), grace_s)
    # the leader may be gone while its children linger in the group
    kill_group(pgid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        await proc.wait()


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


async def wait_leader_exit(proc: asyncio.subprocess.Process) -> None:
    """Return when the group leader itself has exited.

    ``proc.wait()`` on Python 3.11 also waits for the stdout/stderr pipes to close, which
    never happens while a background child the agent left behind still holds them. A pidfd
    becomes readable on the leader's exit alone."""
    if proc.returncode is not None:
        return
    try:
        fd = os.pidfd_open(proc.pid)
    except OSError:  # already reaped (it exited) or no pidfd support: poll instead
        while proc.returncode is None and group_alive(proc.pid) and _is_running(proc.pid):
            await asyncio.sleep(0.05)
        return
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not done.done():
            done.set_result(None)

    loop.add_reader(fd, readable)
    try:
        await done
    finally:
        loop.remove_reader(fd)
        os.close(fd)


#: A process: its pid and its start time (clock ticks since boot), which tells it apart
#: from a later process that was given the same pid.
ProcessId = tuple[int, int]
_STATE, _SESSION, _STARTTIME = 0, 3, 19  # in /proc/PID/stat, counted after the name


def _live_stat(pid: int) -> list[str] | None:
    """``/proc/PID/stat`` after the command name, or None once ``pid`` is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields if len(fields) > _STARTTIME and fields[_STATE] != "Z" else None


def _is_running(pid: int) -> bool:
    return _live_stat(pid) is not None


def session_members(sid: int) -> list[ProcessId]:
    """Live processes of session ``sid``, from /proc (Linux; elsewhere none are found).

    A tmux pane's process leads its own session; what it starts stays in it, even in other
    process groups (unless it calls setsid). Only call this while the leader is known to be
    alive: then no other session can have that id."""
    found: list[ProcessId] = []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            fields = _live_stat(int(entry.name))
            if fields is not None and fields[_SESSION] == str(sid):
                found.append((int(entry.name), int(fields[_STARTTIME])))
    return found


def _same_process(member: ProcessId) -> bool:
    fields = _live_stat(member[0])
    return fields is not None and int(fields[_STARTTIME]) == member[1]


_KILL_SETTLE_S = 2.0


async def end_processes(members: list[ProcessId], grace_s: float = 1.0) -> list[int]:
    """SIGTERM the processes that are still the ones listed (same pid *and* start time),
    SIGKILL those left after ``grace_s`` and wait for them to go; returns the pids that
    had to be killed."""
    left = [m for m in members if _same_process(m)]
    for pid, _ in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    left = await _outlasting(left, grace_s, step_s=0.05)
    dying: list[ProcessId] = []
    for member in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(member[0], signal.SIGKILL)
            dying.append(member)
    # SIGKILL is delivered when the process is next scheduled, which on a busy machine is
    # not at once: wait (briefly) so the caller's next step never meets them still running
    await _outlasting(dying, _KILL_SETTLE_S, step_s=0.02)
    return [pid for pid, _ in dying]


async def _outlasting(members: list[ProcessId], within_s: float, step_s: float) -> list[ProcessId]:
    """Those of ``members`` still running after ``within_s`` (sooner when none are)."""
    deadline = asyncio.get_running_loop().time() + within_s
    while members and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(step_s)
        members = [m for m in members if _same_process(m)]
    return members
