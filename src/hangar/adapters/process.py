"""Child processes that are easy to stop.

Each child leads a new session, so one signal to its process group reaches everything it
started (unless something calls setsid itself); it gets a death signal, so it dies with the
thread that spawned it; and it is waited for by its exit alone, not by the end of its pipes.
The daemon's agents, the plugin runtime's plugins and their managed subprocesses all start
here.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hangar.adapters.procfs import ProcessId, pid_alive, same_process

__all__ = [
    "DEATH_SIGNAL_PREFIX",
    "SETPRIV",
    "STREAM_LIMIT",
    "ProcessId",
    "die_with_parent",
    "end_processes",
    "group_alive",
    "kill_group",
    "pid_alive",
    "reap",
    "resolve_program",
    "spawn",
    "terminate_group",
    "wait_exit_status",
    "wait_leader_exit",
]

#: asyncio's default 64 KiB line limit is too small for a stream-json tool result.
STREAM_LIMIT = 16 * 1024 * 1024

_LINUX = sys.platform.startswith("linux")

#: util-linux ``setpriv --pdeathsig KILL`` sets the death signal and then execs the program,
#: so the fork needs no ``preexec_fn``: CPython can then take its vfork path instead of a full
#: fork that holds the GIL (a quarter of the daemon's CPU under load, measured).
SETPRIV = shutil.which("setpriv") if _LINUX else None
#: Put before a child's argv to give it the death signal (empty without setpriv).
DEATH_SIGNAL_PREFIX: tuple[str, ...] = (SETPRIV, "--pdeathsig", "KILL", "--") if SETPRIV else ()

_PR_SET_PDEATHSIG = 1
_libc: Any = None


def _load_libc() -> Any:
    """libc, loaded in the parent: loading it in the child, between fork and exec, is slow
    and not safe while other threads hold locks."""
    global _libc
    if _libc is None and _LINUX:
        import ctypes

        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def die_with_parent() -> None:
    """A ``preexec_fn`` for when there is no setpriv: the child gets SIGKILL when the thread
    that forked it exits (so spawn from a thread that lives as long as the children should)."""
    libc = _libc or _load_libc()
    if libc is not None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _death_signal_preexec() -> Callable[[], None] | None:
    if SETPRIV is not None or not _LINUX:
        return None
    _load_libc()
    return die_with_parent


def resolve_program(program: str, path: str | None) -> str:
    """The executable ``program`` names, looked up on ``path`` unless it holds a slash.

    Done before spawning so a missing program is an OSError from :func:`spawn`, not an exit
    status from the setpriv wrapper."""
    if os.sep in program:
        if not os.path.isfile(program):
            raise FileNotFoundError(errno.ENOENT, "no such file", program)
        if not os.access(program, os.X_OK):
            raise PermissionError(errno.EACCES, "not executable", program)
        return program
    exe = shutil.which(program, path=path if path is not None else os.defpath)
    if exe is None:
        raise FileNotFoundError(errno.ENOENT, "not found on PATH", program)
    return exe


async def spawn(
    argv: Sequence[str],
    *,
    cwd: Path | str,
    env: Mapping[str, str],
    pipe_stdin: bool = False,
    pipe_stderr: bool = True,
    limit: int = STREAM_LIMIT,
) -> asyncio.subprocess.Process:
    """Start ``argv`` (never a shell string) as the leader of a new session and process
    group, with the death signal. stdout is a pipe; stdin and stderr are pipes on request,
    else /dev/null. ``argv[0]`` is resolved on ``env``'s PATH first (see
    :func:`resolve_program`)."""
    if not argv:
        raise FileNotFoundError(errno.ENOENT, "empty argv", "")
    exe = resolve_program(argv[0], env.get("PATH"))
    devnull, pipe = asyncio.subprocess.DEVNULL, asyncio.subprocess.PIPE
    return await asyncio.create_subprocess_exec(
        *DEATH_SIGNAL_PREFIX,
        exe,
        *argv[1:],
        cwd=str(cwd),
        env=dict(env),
        stdin=pipe if pipe_stdin else devnull,
        stdout=pipe,
        stderr=pipe if pipe_stderr else devnull,
        start_new_session=True,
        preexec_fn=_death_signal_preexec(),
        limit=limit,
    )


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> bool:
    """Signal a whole process group; False when it is already gone."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def group_alive(pgid: int) -> bool:
    """Does process group ``pgid`` still have a member (a zombie counts)?"""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


async def wait_leader_exit(proc: asyncio.subprocess.Process) -> None:
    """Return when the group leader itself has exited.

    ``proc.wait()`` on Python 3.11 also waits for the stdout/stderr pipes to close, which
    never happens while a background child the leader left behind still holds them. A pidfd
    becomes readable on the leader's exit alone."""
    if proc.returncode is not None:
        return
    try:
        fd = os.pidfd_open(proc.pid)
    except OSError:  # already reaped (it exited) or no pidfd support: poll instead
        while proc.returncode is None and pid_alive(proc.pid):
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


async def wait_exit_status(
    proc: asyncio.subprocess.Process, timeout: float | None = None
) -> int | None:
    """The leader's exit status once it is reaped, or None if that takes over ``timeout``.

    Not ``proc.wait()``, for the reason given in :func:`wait_leader_exit`."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wait_leader_exit(proc), timeout)
    # the exit is seen; the event loop's child watcher records the status a moment later
    while proc.returncode is None and (deadline is None or loop.time() < deadline):
        await asyncio.sleep(0.01)
    return proc.returncode


async def terminate_group(proc: asyncio.subprocess.Process, grace_s: float = 3.0) -> None:
    """SIGTERM ``proc``'s group, give it ``grace_s`` to exit, then SIGKILL what is left of
    it; returns once the leader is reaped."""
    pgid = proc.pid
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace_s
    kill_group(pgid, signal.SIGTERM)
    await wait_exit_status(proc, grace_s)
    # the leader may be gone while its children linger in the group
    while group_alive(pgid) and loop.time() < deadline:
        await asyncio.sleep(0.02)
    kill_group(pgid, signal.SIGKILL)
    await wait_exit_status(proc)


async def reap(proc: asyncio.subprocess.Process, timeout: float = 2.0) -> int | None:
    """Kill what is left of ``proc``'s group, collect the exit status and close the pipes.

    A reader that stopped reading (after a malformed frame) never sees EOF, so the pipes are
    closed here rather than waited for."""
    kill_group(proc.pid)
    code = await wait_exit_status(proc, timeout)
    transport = getattr(proc, "_transport", None)  # no public way to close the pipes
    if transport is not None:
        transport.close()
    return code


_KILL_SETTLE_S = 2.0


async def end_processes(members: list[ProcessId], grace_s: float = 1.0) -> list[int]:
    """SIGTERM the processes that are still the ones listed (same pid *and* start time),
    SIGKILL those left after ``grace_s`` and wait for them to go; returns the pids that
    had to be killed."""
    left = [m for m in members if same_process(m)]
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
        members = [m for m in members if same_process(m)]
    return members
