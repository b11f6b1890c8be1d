"""Plugin processes: a new session (so one signal reaches the plugin and its children), a death
signal tied to the host, and a group kill on teardown.

This mirrors ``hangar.daemon.process``, which the plugins layer may not import.
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import signal
import sys
from collections.abc import Mapping

from hangar.plugins.runtime.discovery import PluginSpec
from hangar.proto.framing import MAX_HEADER_BYTES

__all__ = [
    "PDEATHSIG_PREFIX",
    "SETPRIV",
    "die_with_parent",
    "group_alive",
    "kill_group",
    "pid_alive",
    "spawn",
]

# util-linux ``setpriv --pdeathsig KILL`` sets PR_SET_PDEATHSIG and execs the plugin, so the
# fork needs no preexec_fn (CPython can then vfork). The death signal fires when the *thread*
# that spawned the plugin exits: run the host's event loop in a long-lived thread.
SETPRIV = shutil.which("setpriv") if sys.platform.startswith("linux") else None
#: Put before a child's argv to give it that death signal (empty without setpriv).
PDEATHSIG_PREFIX: tuple[str, ...] = (SETPRIV, "--pdeathsig", "KILL", "--") if SETPRIV else ()


def die_with_parent() -> None:
    """A ``preexec_fn``: the child gets SIGKILL when the thread that forked it exits."""
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


async def spawn(spec: PluginSpec, env: Mapping[str, str]) -> asyncio.subprocess.Process:
    """Start the plugin with piped stdio, as the leader of its own process group."""
    if not spec.executable.is_file():  # an OSError here, not an exit code from setpriv
        raise FileNotFoundError(errno.ENOENT, "no such file", str(spec.executable))
    linux = sys.platform.startswith("linux")
    return await asyncio.create_subprocess_exec(
        *PDEATHSIG_PREFIX,
        *spec.argv(),
        cwd=str(spec.dir),
        env=dict(env),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        preexec_fn=die_with_parent if linux and not SETPRIV else None,
        # readuntil() refuses a header line past the limit: hold it to the framing maximum
        limit=MAX_HEADER_BYTES,
    )


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> bool:
    """Signal a whole process group; False when it is already gone."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except (OSError, IndexError):  # no /proc (macOS): ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


async def reap(proc: asyncio.subprocess.Process, timeout: float = 2.0) -> int | None:
    """Kill what is left of the group and collect the exit status.

    Not ``proc.wait()``: on 3.11 it also waits for the pipes to close, and a reader that
    stopped reading (after a malformed frame) never sees EOF, so it would sit out the whole
    timeout and leave the transport open. The exit status arrives without the pipes."""
    kill_group(proc.pid)
    deadline = asyncio.get_running_loop().time() + timeout
    while proc.returncode is None and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    transport = getattr(proc, "_transport", None)  # no public way to close the pipes
    if transport is not None:
        transport.close()
    return proc.returncode
