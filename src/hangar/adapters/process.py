"""Child processes that are easy to stop, and that never outlive their spawner.

Each child leads a new session, so one signal to its process group reaches everything it
started; and it is waited for by its exit alone, not by the end of its pipes. On Linux it runs
*contained*: its parent is a small watchdog (:mod:`hangar.adapters.subreaper`), outside that
group, which is a child subreaper and gets a death signal. When the thread that spawned it
goes (the daemon's kill -9 included), the watchdog takes the whole tree down: SIGTERM, a grace,
SIGKILL, reaching even descendants that ignore SIGHUP or left the group with setsid(). When the
program exits, the watchdog kills what it left behind, reaps it all and exits with the
program's status, which is the status the returned process reports. ``proc.pid`` is the
program's, as uncontained; the watchdog is signalled only by :func:`spawn`'s own stops, never
by a signal to the group. Elsewhere (or with ``contain=False``) the child is the spawner's own
and only it gets the death signal. The daemon's agents, the plugin runtime's plugins and their
managed subprocesses all start here.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import shutil
import signal
import sys
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hangar.adapters.procfs import ProcessId, Stat, pid_alive, pids, same_process, stat

__all__ = [
    "DEATH_SIGNAL_PREFIX",
    "ORPHAN_GRACE_S",
    "SETPRIV",
    "STREAM_LIMIT",
    "SUBREAPER",
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
    "watchdog_of",
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

#: The watchdog script a contained child runs under, by path: it is run with ``-I -S``.
SUBREAPER = str(Path(__file__).with_name("subreaper.py"))
#: When the spawner dies, what a contained child's tree gets between SIGTERM and SIGKILL.
ORPHAN_GRACE_S = 2.0

#: How long a contained child's watchdog may take to start the program and report its pid.
_START_LIMIT_S = 60.0

#: The watchdog's pid of each process :func:`spawn` started contained.
_WATCHDOGS: weakref.WeakKeyDictionary[asyncio.subprocess.Process, int] = weakref.WeakKeyDictionary()

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


def watchdog_of(proc: asyncio.subprocess.Process) -> int | None:
    """The pid of ``proc``'s watchdog, or None when it was not started contained."""
    try:
        return _WATCHDOGS.get(proc)
    except TypeError:  # a stand-in that cannot be weakly referenced: not one of ours
        return None


def _contained(
    exe: str, args: Sequence[str], env: Mapping[str, str], grace_s: float, report: int
) -> list[str]:
    """The argv that runs ``exe`` under the watchdog, which reports the program's pid on
    ``report``."""
    lc_ctype = env.get("LC_CTYPE")
    return [
        sys.executable,
        "-I",
        "-S",
        SUBREAPER,
        str(os.getpid()),
        repr(float(grace_s)),
        "-" if lc_ctype is None else f"={lc_ctype}",
        str(report),
        "--",
        exe,
        *args,
    ]


async def spawn(
    argv: Sequence[str],
    *,
    cwd: Path | str,
    env: Mapping[str, str],
    pipe_stdin: bool = False,
    pipe_stderr: bool = True,
    limit: int = STREAM_LIMIT,
    contain: bool = True,
    orphan_grace_s: float = ORPHAN_GRACE_S,
) -> asyncio.subprocess.Process:
    """Start ``argv`` (never a shell string) as the leader of a new session and process
    group: contained (see the module's docstring) unless ``contain`` is False or this is not
    Linux, else with the death signal. stdout is a pipe; stdin and stderr are pipes on
    request, else /dev/null. ``argv[0]`` is resolved on ``env``'s PATH first (see
    :func:`resolve_program`). ``orphan_grace_s``: how long a contained tree has for SIGTERM
    when the spawner dies."""
    if not argv:
        raise FileNotFoundError(errno.ENOENT, "empty argv", "")
    exe = resolve_program(argv[0], env.get("PATH"))
    devnull, pipe = asyncio.subprocess.DEVNULL, asyncio.subprocess.PIPE
    streams: dict[str, Any] = {
        "cwd": str(cwd),
        "env": dict(env),
        "stdin": pipe if pipe_stdin else devnull,
        "stdout": pipe,
        "stderr": pipe if pipe_stderr else devnull,
        "start_new_session": True,
        "limit": limit,
    }
    if not (contain and _LINUX and sys.executable):
        return await asyncio.create_subprocess_exec(
            *DEATH_SIGNAL_PREFIX,
            exe,
            *argv[1:],
            preexec_fn=_death_signal_preexec(),
            **streams,
        )
    report, report_w = os.pipe()
    if report_w <= 2:  # stdio is set up over 0-2 in the child: keep the report end above
        moved = fcntl.fcntl(report_w, fcntl.F_DUPFD_CLOEXEC, 3)
        os.close(report_w)
        report_w = moved
    try:
        proc = await asyncio.create_subprocess_exec(
            *_contained(exe, argv[1:], env, orphan_grace_s, report_w),
            pass_fds=(report_w,),
            **streams,
        )
    except BaseException:
        os.close(report)
        raise
    finally:
        os.close(report_w)
    try:
        line = await asyncio.wait_for(_read_line(report), _START_LIMIT_S)
    except BaseException as exc:
        await reap(proc)  # the watchdog; its program, if any, dies with it
        if isinstance(exc, TimeoutError):
            why = f"its watchdog did not start it within {_START_LIMIT_S:g} s"
            raise OSError(errno.ETIMEDOUT, why, exe) from None
        raise
    finally:
        os.close(report)
    if not line.strip().isdigit():  # the watchdog ended before the program started
        code = await reap(proc)
        raise OSError(errno.ECHILD, f"its watchdog exited ({code}) before starting it", exe)
    _WATCHDOGS[proc] = proc.pid
    proc.pid = int(line)  # what every caller signals and waits for: the program
    return proc


async def _read_line(fd: int) -> bytes:
    """One line from the pipe ``fd`` (less at its end), without blocking the loop."""
    loop = asyncio.get_running_loop()
    os.set_blocking(fd, False)
    data = b""
    while not data.endswith(b"\n"):
        try:
            chunk = os.read(fd, 64)
        except BlockingIOError:
            await _readable(loop, fd)
            continue
        if not chunk:
            break
        data += chunk
    return data


async def _readable(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def on_ready() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, on_ready)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


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
    watchdog = watchdog_of(proc)
    if watchdog is not None:  # the program is the watchdog's child: is the pid still its?
        st = stat(proc.pid)
        if st is None or st.ppid != watchdog:
            os.close(fd)
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
    it, and of the leader's descendants that left the group; returns once the leader is
    reaped."""
    pgid = proc.pid
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace_s
    kill_group(pgid, signal.SIGTERM)
    await wait_exit_status(proc, grace_s)
    # the leader may be gone while its children linger in the group
    while group_alive(pgid) and loop.time() < deadline:
        await asyncio.sleep(0.02)
    await _kill_all(proc)


async def reap(proc: asyncio.subprocess.Process, timeout: float = 2.0) -> int | None:
    """Kill what is left of ``proc``'s group, collect the exit status and close the pipes.

    A reader that stopped reading (after a malformed frame) never sees EOF, so the pipes are
    closed here rather than waited for."""
    code = await _kill_all(proc, timeout)
    transport = getattr(proc, "_transport", None)  # no public way to close the pipes
    if transport is not None:
        transport.close()
    return code


#: How long a contained child's watchdog has to reap the tree killed under it and exit.
_WATCHDOG_SETTLE_S = 5.0


async def _kill_all(proc: asyncio.subprocess.Process, timeout: float | None = None) -> int | None:
    """SIGKILL what is left of ``proc``'s group and of the descendants that left it; the
    exit status once it is reaped (None past ``timeout``).

    A contained child's watchdog is not in the group: it reaps the tree killed under it and
    exits with the program's status. Only if it has not within a few seconds is it killed
    too (its program, if still there, dies with it)."""
    watchdog = watchdog_of(proc)
    if proc.returncode is None and watchdog is not None:
        for st in _descendants(watchdog):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(st.pid, signal.SIGKILL)
        settle = _WATCHDOG_SETTLE_S if timeout is None else min(timeout, _WATCHDOG_SETTLE_S)
        if await wait_exit_status(proc, settle) is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(watchdog, signal.SIGKILL)
    elif proc.returncode is None:
        for st in _descendants(proc.pid):
            if st.pgid != proc.pid:  # SIGKILL to the group misses those that left it
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(st.pid, signal.SIGKILL)
        kill_group(proc.pid, signal.SIGKILL)
    elif watchdog is None:
        kill_group(proc.pid, signal.SIGKILL)  # what the leader left in its group
    return await wait_exit_status(proc, timeout)


def _descendants(root: int) -> list[Stat]:
    """The live descendants of ``root``, parents first. A contained child's watchdog is a
    subreaper: it is the parent of those whose own parent went, so the walk finds them all."""
    children: dict[int, list[Stat]] = {}
    for pid in pids():
        st = stat(pid)
        if st is not None and not st.zombie:
            children.setdefault(st.ppid, []).append(st)
    found: list[Stat] = []
    todo = [root]
    while todo:
        for st in children.get(todo.pop(), ()):
            found.append(st)
            todo.append(st.pid)
    return found


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
