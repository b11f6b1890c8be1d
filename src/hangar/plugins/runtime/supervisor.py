"""One plugin's lifecycle: Idle → Spawning → Running; crash → Backoff → Spawning;
``max_crashes`` crashes inside ``crash_window`` → Quarantined until a reload; stop or idle
reap → ShuttingDown → Idle.

Backoff is exponential from ``backoff_initial`` (250 ms), doubling per crash in the window,
capped at ``backoff_max`` (5 s). A crash is any exit the host did not ask for, a failed
``plugin/init``, a malformed frame or a non-JSON message; a stop asked for after the plugin
died does not excuse it. A failed init is one crash like any other: a plugin that cannot
start is respawned, and quarantined at the third failure inside the window. The window is
kept in ``state.json`` (see ``state.py``): crashes in separate ``ainb`` runs add up.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections import deque
from typing import Any, Protocol

from hangar.plugins import protocol as p
from hangar.plugins.runtime import process
from hangar.plugins.runtime.connection import Connection, Limits
from hangar.plugins.runtime.discovery import PluginSpec
from hangar.plugins.runtime.errors import (
    PluginCrashed,
    PluginError,
    PluginQuarantined,
    PluginTimeout,
    ended,
    exit_text,
)
from hangar.plugins.runtime.gate import CapabilityGate
from hangar.plugins.runtime.logsink import LogBudget, PluginLog, pump_lines
from hangar.plugins.runtime.policy import PluginState, Policy
from hangar.plugins.runtime.results import decode_result
from hangar.plugins.runtime.state import QuarantineStore
from hangar.proto.jsonrpc import RpcError

__all__ = ["PluginState", "Policy", "Supervisor", "SupervisorHost"]


#: After a plugin closes stdout, how long it may take to exit before its group is killed.
EXIT_LINGER = 1.0
#: How often a running plugin's exit status is polled (see ``_watch_exit``).
EXIT_POLL = 0.05
#: How long a request that lost its plugin waits for the run's teardown (linger, reap,
#: the last stderr lines), to report the exit status and have the traceback in the log.
CRASH_REPORT_WAIT = 5.0


class SupervisorHost(Protocol):
    """What a supervisor calls back on its host (``PluginHost``): the plugin's environment,
    word that a run started or ended, and the plugin's own calls to serve. The rest (policy,
    limits, gate, log, quarantine store) it is handed as plain objects when it is made."""

    def plugin_env(self, spec: PluginSpec) -> dict[str, str]:
        """The environment ``spec``'s executable starts with."""

    def on_running(self, sup: Supervisor) -> None:
        """The plugin answered its init: it is Running (a restart included)."""

    def on_gone(self, sup: Supervisor) -> None:
        """A run is torn down: the process reaped, the connection closed."""

    async def on_plugin_request(self, sup: Supervisor, method: str, params: Any) -> Any:
        """Answer a plugin → host request: its result, or raise ``RpcError``."""

    async def on_plugin_notification(self, sup: Supervisor, method: str, params: Any) -> None:
        """Act on a plugin → host notification."""


class Supervisor:
    def __init__(
        self,
        spec: PluginSpec,
        host: SupervisorHost,
        *,
        policy: Policy,
        limits: Limits,
        gate: CapabilityGate,
        log: PluginLog,
        store: QuarantineStore,
    ) -> None:
        self.spec = spec
        self.host = host
        self.policy = policy
        self.limits = limits
        self.gate = gate
        self.log = log
        self.store = store
        self.state = PluginState.IDLE
        self.proc: asyncio.subprocess.Process | None = None
        self.conn: Connection | None = None
        self.crashes: deque[float] = deque()
        """Wall-clock times of the crashes inside the window (of every host, when saved)."""
        self.restarts = 0
        self.last_error: str | None = None
        self.last_exit: int | None = None
        self.dropped_stderr = 0
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._stopping = False
        self._wake = asyncio.Event()  # cuts a backoff short when stopping
        # quarantined, but state.json could not record it: only a reload here lifts it
        self._unsaved_quarantine = False
        # the current run's end: its exit status when the plugin exited by itself
        self._run_end: asyncio.Future[int | None] | None = None
        quarantined = store.get(spec.id)
        if quarantined is not None:
            self.state = PluginState.QUARANTINED
            self.last_error = str(quarantined.get("reason", ""))

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    # -- public ----------------------------------------------------------------------------

    async def ensure_running(self, timeout: float | None = None) -> Connection:
        """The live connection, spawning (and waiting through backoff) as needed."""
        wait = self.policy.start_timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        while True:
            conn = self.conn
            if self.state is PluginState.RUNNING and conn is not None and not conn.lost.done():
                return conn
            if self.state is PluginState.QUARANTINED:
                if self._unsaved_quarantine or self.store.get(self.id) is not None:
                    raise PluginQuarantined(
                        self.id,
                        f"quarantined ({self.last_error})",
                        reason=self.last_error or "",
                        log_path=self.log.path,
                    )
                # reloaded by another process: a fresh start, as after reload() here
                self.crashes.clear()
                self.last_error = None
                self._set(PluginState.IDLE)
            if self.state is PluginState.IDLE:
                self._stopping = False
                self._set(PluginState.SPAWNING)
                self._task = asyncio.create_task(self._lifecycle(), name=f"plugin-{self.id}")
            changed = self._changed
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PluginTimeout(self.id, f"not running after {wait:g}s ({self.state})")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    async def request(self, method: str, params: Any = None, timeout: float | None = None) -> Any:
        conn = await self.ensure_running()
        run_end = self._run_end
        wait = self.policy.request_timeout if timeout is None else timeout
        try:
            return await conn.request(method, params, wait)
        except PluginCrashed as exc:
            raise await self._crash_report(exc, run_end) from None

    async def _crash_report(
        self, exc: PluginCrashed, run_end: asyncio.Future[int | None] | None
    ) -> PluginCrashed:
        """``exc`` with how the plugin ended ("exited with status 1") once its run is torn
        down, and where its stderr went; its own message if the host killed it."""
        code = None
        if run_end is not None:
            with contextlib.suppress(TimeoutError):
                code = await asyncio.wait_for(asyncio.shield(run_end), CRASH_REPORT_WAIT)
        log_path = self.log.path
        if code is None:
            return PluginCrashed(self.id, exc.message, log_path=log_path)
        return PluginCrashed(self.id, ended(code), exit_code=code, log_path=log_path)

    async def stop(self, why: str = "shutdown") -> None:
        """Ask the plugin to exit (``plugin/shutdown``), kill it after the grace."""
        task = self._task
        if task is None or task.done():
            return
        self._stopping = True
        self._wake.set()
        conn = self.conn
        if self.state is PluginState.RUNNING and conn is not None and not conn.lost.done():
            self._set(PluginState.SHUTTING_DOWN)
            self._log("info", "plugin.stop", f"stopping ({why})")
            grace = self.policy.shutdown_grace
            deadline = time.monotonic() + grace
            with contextlib.suppress(PluginError, RpcError):
                await conn.request(p.SHUTDOWN, None, grace)
            proc = self.proc
            if proc is not None:  # the rest of the grace for a clean exit, then the kill
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        asyncio.shield(proc.wait()), max(0.0, deadline - time.monotonic())
                    )
        if self.conn is not None:
            self.conn.lose(f"stopped ({why})")
        try:
            await asyncio.wait_for(asyncio.shield(task), self.policy.shutdown_grace + 5)
        except TimeoutError:
            task.cancel()

    async def kill(self, sig: int = signal.SIGKILL) -> None:
        """Inject a crash: signal the plugin's group, return once the runtime noticed."""
        proc = self.proc
        if proc is None:
            return
        process.kill_group(proc.pid, sig)
        deadline = time.monotonic() + 5.0
        while self.proc is proc and time.monotonic() < deadline:
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), deadline - time.monotonic())

    async def reload(self) -> None:
        """Stop, forget the crash history and the quarantine: back to Idle."""
        await self.stop("reload")
        self.store.clear(self.id)
        self._unsaved_quarantine = False
        self.crashes.clear()
        self.last_error = None
        self._set(PluginState.IDLE)

    def idle_for(self) -> float:
        conn = self.conn
        if conn is None or self.state is not PluginState.RUNNING or conn.inflight:
            return 0.0
        return time.monotonic() - conn.activity

    # -- lifecycle ---------------------------------------------------------------------------

    def _set(self, state: PluginState) -> None:
        self.state = state
        self._changed.set()
        self._changed = asyncio.Event()

    async def _lifecycle(self) -> None:
        try:
            while True:
                self._set(PluginState.SPAWNING)
                reason = await self._run_once()
                if reason is None:
                    self._set(PluginState.IDLE)
                    return
                # the state file is shared under a lock: never wait for it on the event loop
                self.crashes = await asyncio.to_thread(
                    _count_crash, self.store, self.id, self.crashes, self.policy.crash_window
                )
                self.last_error = reason
                if len(self.crashes) >= self.policy.max_crashes:
                    try:
                        await asyncio.to_thread(self.store.quarantine, self.id, reason)
                    except OSError as exc:  # read-only home: still quarantine, in memory
                        self._unsaved_quarantine = True
                        self._log(
                            "error",
                            "plugin.quarantine_unsaved",
                            f"cannot record the quarantine in {self.store.path}: {exc}",
                        )
                    self._log(
                        "error",
                        "plugin.quarantined",
                        f"quarantined after {len(self.crashes)} crashes: {reason}",
                    )
                    self._set(PluginState.QUARANTINED)
                    return
                delay = self.policy.backoff(len(self.crashes))
                self._log("warn", "plugin.crash", f"crashed: {reason}", backoff_s=delay)
                self._set(PluginState.BACKOFF)
                self._wake.clear()
                with contextlib.suppress(TimeoutError):  # not wait_for: it loses cancels on 3.11
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                if self._stopping:
                    self._set(PluginState.IDLE)
                    return
                self.restarts += 1
        except asyncio.CancelledError:
            await self._teardown()
            self._set(PluginState.IDLE)
            raise

    async def _run_once(self) -> str | None:
        """Run the plugin once; the crash reason, or None when it was stopped on purpose."""
        run_end: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._run_end = run_end
        try:
            proc = await process.spawn(self.spec, self.host.plugin_env(self.spec))
        except OSError as exc:
            run_end.set_result(None)
            return f"cannot start {self.spec.executable}: {exc.strerror or exc}"
        self.proc = proc
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        stderr_task = asyncio.create_task(self._pump_stderr(proc.stderr))
        conn = Connection(
            self.id,
            proc.stdout,
            proc.stdin,
            on_request=lambda m, prm: self.host.on_plugin_request(self, m, prm),
            on_notification=lambda m, prm: self.host.on_plugin_notification(self, m, prm),
            log=self._log,
            limits=self.limits,
        )
        self.conn = conn
        conn.start()
        exit_task = asyncio.create_task(_watch_exit(proc, conn))
        self._log("info", "plugin.spawn", "started", pid=proc.pid)
        stopping: bool | None = None  # was it asked to stop when the connection went?
        code: int | None = None
        try:
            if not self._stopping:
                init = p.InitParams(
                    str(self.spec.manifest_path),
                    self.spec.manifest.granted_capabilities(),
                    p.ABI_VERSION,
                )
                reply = decode_result(
                    self.id,
                    p.INIT,
                    await conn.request(p.INIT, init, self.policy.request_timeout),
                    p.InitResult,
                )
                if reply.name != self.id:
                    self._log("warn", "plugin.init", f"init answered name {reply.name!r}")
                self._set(PluginState.RUNNING)
                self.host.on_running(self)
                reason = await conn.lost
                stopping = self._stopping
                if reason == "stdout closed":  # it is exiting: let it finish before the kill
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(proc.wait()), EXIT_LINGER)
            else:
                reason = "stopped"
        except PluginError as exc:
            stopping = self._stopping
            reason = f"init failed: {exc.message}"
        except RpcError as exc:
            stopping = self._stopping
            reason = f"init failed: {exc.message} (code {exc.code})"
        finally:
            if stopping is None:
                stopping = self._stopping
            exit_task.cancel()
            try:
                # by itself, before the group kill (a zombie not yet reaped counts)
                exited = proc.returncode is not None or not process.pid_alive(proc.pid)
                code = await self._teardown()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(stderr_task, 1.0)
                stderr_task.cancel()
            finally:
                run_end.set_result(code if exited else None)
        if stopping:
            self._log("info", "plugin.exit", "stopped", exit_code=code)
            return None
        return f"{reason} (exit {exit_text(code)})"

    async def _teardown(self) -> int | None:
        conn, proc = self.conn, self.proc
        self.conn = None
        if conn is not None:
            await conn.close()
        code = None
        if proc is not None:
            code = await process.reap(proc)
            self.last_exit = code
        self.proc = None
        self.host.on_gone(self)
        return code

    async def _pump_stderr(self, stream: asyncio.StreamReader) -> None:
        """Plugin stderr → the plugin log, one line per entry, rate-bounded."""
        budget = LogBudget(self.policy.stderr_lines_per_sec, sys.maxsize)  # lines only
        try:
            await pump_lines(stream, budget, lambda line: self._log("warn", "plugin.stderr", line))
        finally:
            self.dropped_stderr += budget.dropped

    def _log(self, level: str, event: str, msg: str, **fields: Any) -> None:
        self.log.write(level, event, self.id, msg, **fields)


def _count_crash(
    store: QuarantineStore, plugin_id: str, crashes: deque[float], window: float
) -> deque[float]:
    """``crashes`` with one now: the window in ``state.json`` (every host's), or this host's
    own when that cannot be written."""
    now = time.time()
    try:
        recent = store.record_crash(plugin_id, now, window)
    except OSError:  # read-only home: count this host's crashes at least
        recent = [t for t in (*crashes, now) if 0 <= now - t <= window]
    return deque(recent)


async def _watch_exit(proc: asyncio.subprocess.Process, conn: Connection) -> None:
    """Lose the connection when the process exits. stdout EOF is not enough: a child
    that inherited stdout keeps it open after the plugin died. Polled, since on 3.11
    ``proc.wait()`` also waits for the pipes (see ``process.reap``)."""
    while proc.returncode is None and not conn.lost.done():
        await asyncio.sleep(EXIT_POLL)
    # let the reader take what the plugin wrote last; EOF ends it sooner
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(conn.lost), EXIT_LINGER)
    conn.lose("process exited")
