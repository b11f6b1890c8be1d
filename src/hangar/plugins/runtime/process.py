"""Plugin processes: the plugin-specific spawn over ``hangar.adapters.process``.

A plugin leads a new session (one signal reaches it and its children) and gets the death
signal, which fires when the *thread* that spawned it exits: run the host's event loop in a
long-lived thread. The other names are the adapter's, kept here for the runtime's callers.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Mapping

from hangar.adapters import process as _process
from hangar.adapters.process import (
    DEATH_SIGNAL_PREFIX as PDEATHSIG_PREFIX,
)
from hangar.adapters.process import (
    SETPRIV,
    die_with_parent,
    group_alive,
    kill_group,
    pid_alive,
    reap,
)
from hangar.plugins.runtime.discovery import PluginSpec
from hangar.proto.framing import MAX_HEADER_BYTES

__all__ = [
    "PDEATHSIG_PREFIX",
    "SETPRIV",
    "die_with_parent",
    "group_alive",
    "kill_group",
    "pid_alive",
    "reap",
    "spawn",
]


async def spawn(spec: PluginSpec, env: Mapping[str, str]) -> asyncio.subprocess.Process:
    """Start the plugin with piped stdio, as the leader of its own process group."""
    if not spec.executable.is_file():  # an OSError here, not an exit code from setpriv
        raise FileNotFoundError(errno.ENOENT, "no such file", str(spec.executable))
    return await _process.spawn(
        spec.argv(),
        cwd=spec.dir,
        env=env,
        pipe_stdin=True,
        # readuntil() refuses a header line past the limit: hold it to the framing maximum
        limit=MAX_HEADER_BYTES,
    )
