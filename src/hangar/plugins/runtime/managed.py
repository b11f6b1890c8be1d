"""Managed children for ``host/spawn_managed_subprocess`` (docs/plugins.md#plugin-to-host).

A child is exec'd from its argv (never a shell) in its own session, tied to the host by a
death signal like the plugins (``process.spawn``); a program that is missing or not
executable fails the call. Each stdout line goes to the plugin that spawned it as a
``plugin/handle_event`` on ``managed:<handle>:stdout`` (the raw line, newline stripped, cut
at ``MAX_LINE``); when it exits, ``managed:<handle>:exit`` carries a ``ManagedExit``. Lines
are dropped (and counted in the exit event) while that plugin's connection already has
``OUTPUT_BACKLOG`` bytes waiting to be written. When the plugin stops or crashes, or the
host closes, its children's groups are killed and reaped.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from hangar.adapters.process import spawn as spawn_process
from hangar.plugins import protocol as p
from hangar.plugins.runtime import process
from hangar.plugins.runtime.connection import Connection
from hangar.plugins.runtime.environment import managed_environment
from hangar.proto.jsonrpc import INTERNAL_ERROR, INVALID_PARAMS, RpcError

__all__ = ["MAX_CHILDREN", "MAX_LINE", "OUTPUT_BACKLOG", "ManagedChildren"]

#: Children one plugin may run at once.
MAX_CHILDREN = 8
#: A stdout line longer than this is cut (the rest of it is dropped and counted).
MAX_LINE = 64 * 1024
#: Bytes queued for the plugin past which stdout lines are dropped rather than queued.
OUTPUT_BACKLOG = 4 * 1024 * 1024


@dataclass
class _Child:
    handle: str
    plugin: str
    proc: asyncio.subprocess.Process
    conn: Connection
    task: asyncio.Task[None] | None = None
    dropped_lines: int = 0
    dropped_bytes: int = 0
    killed: bool = field(default=False)


class ManagedChildren:
    def __init__(self, *, max_children: int = MAX_CHILDREN) -> None:
        self.max_children = max_children
        self._children: dict[str, _Child] = {}
        self._ids = itertools.count(1)

    def pids(self, plugin: str) -> list[int]:
        return [c.proc.pid for c in self._children.values() if c.plugin == plugin]

    def count(self, plugin: str) -> int:
        return sum(c.plugin == plugin for c in self._children.values())

    async def spawn(
        self,
        plugin: str,
        conn: Connection,
        program: str,
        params: p.SpawnManagedParams,
        base_env: Mapping[str, str],
        default_cwd: str,
    ) -> str:
        """Start ``program`` (the gate's resolved argv[0]) with ``params.argv[1:]``."""
        if self.count(plugin) >= self.max_children:
            raise RpcError(
                INTERNAL_ERROR, f"too many managed subprocesses (at most {self.max_children})"
            )
        cwd = params.cwd or default_cwd
        if not os.path.isabs(cwd) or not os.path.isdir(cwd):
            raise RpcError(INVALID_PARAMS, f"cwd must be an existing absolute directory: {cwd!r}")
        try:  # the plugin's scrubbed environment; what it adds may not be in the deny family
            env = managed_environment(base_env, params.env or {})
        except ValueError as exc:
            raise RpcError(INVALID_PARAMS, str(exc)) from None
        try:
            proc = await spawn_process(
                [program, *params.argv[1:]], cwd=cwd, env=env, pipe_stderr=False, limit=MAX_LINE
            )
        except (OSError, ValueError) as exc:
            raise RpcError(
                INTERNAL_ERROR, f"cannot start {program}: {getattr(exc, 'strerror', None) or exc}"
            ) from None
        handle = f"m{next(self._ids)}"
        child = _Child(handle, plugin, proc, conn)
        self._children[handle] = child
        child.task = asyncio.create_task(self._pump(child), name=f"managed-{plugin}-{handle}")
        if conn.lost.done():  # the plugin went away while the child started
            self._kill(child)
            raise RpcError(INTERNAL_ERROR, "the plugin is going away")
        return handle

    async def _pump(self, child: _Child) -> None:
        proc, conn = child.proc, child.conn
        assert proc.stdout is not None
        topic = f"managed:{child.handle}:stdout"
        try:
            while True:
                try:
                    line = await proc.stdout.readuntil(b"\n")
                except asyncio.IncompleteReadError as exc:
                    line = exc.partial  # EOF: the last, unterminated line (maybe empty)
                    if not line:
                        break
                except asyncio.LimitOverrunError as exc:
                    line = await proc.stdout.readexactly(exc.consumed)
                    child.dropped_bytes += max(0, len(line) - MAX_LINE)
                    line = line[:MAX_LINE]
                    # keep MAX_LINE of it; drop the rest of that line
                    rest = 0
                    while True:
                        try:
                            rest += len(await proc.stdout.readuntil(b"\n"))
                            break
                        except asyncio.LimitOverrunError as more:
                            rest += len(await proc.stdout.readexactly(more.consumed))
                        except asyncio.IncompleteReadError as end:
                            rest += len(end.partial)
                            break
                    child.dropped_bytes += rest
                line = line.rstrip(b"\n")
                if conn.lost.done() or conn.queued_bytes > OUTPUT_BACKLOG:
                    child.dropped_lines += 1
                    child.dropped_bytes += len(line)
                    continue
                conn.notify(p.HANDLE_EVENT, p.HandleEventParams(topic, line))
        finally:
            code = await process.reap(proc)  # whatever is left of its group goes too
            self._children.pop(child.handle, None)
            if not child.killed and not conn.lost.done():
                done = p.ManagedExit(code, child.dropped_lines, child.dropped_bytes)
                conn.notify(
                    p.HANDLE_EVENT,
                    p.HandleEventParams(f"managed:{child.handle}:exit", p.encode_event(done)),
                )

    def kill_plugin(self, plugin: str) -> None:
        """Kill the groups of ``plugin``'s children; their pumps reap them."""
        for child in list(self._children.values()):
            if child.plugin == plugin:
                self._kill(child)

    @staticmethod
    def _kill(child: _Child) -> None:
        # cancel the pump too: a grandchild that left the group may hold stdout open;
        # its ``finally`` still reaps the child
        if child.killed:  # a second cancel would cut the reap in the pump's ``finally``
            return
        child.killed = True
        process.kill_group(child.proc.pid)
        if child.task is not None:
            child.task.cancel()

    async def aclose(self) -> None:
        """Kill every child and wait until all are reaped."""
        tasks = []
        for child in list(self._children.values()):
            self._kill(child)
            if child.task is not None:
                tasks.append(child.task)
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 5.0)
