"""``PluginHost``: discovers plugins, runs them under supervisors, routes calls both ways.

Everything is asyncio on one event loop. Typical use::

    async with PluginHost() as host:             # discovers; spawns eager plugins
        buf = await host.render("burndown", Viewport(80, 24))
        out = await host.cli_dispatch("usage", ["--json"])
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import hangar
from hangar.core.paths import HangarPaths
from hangar.plugins import protocol as p
from hangar.plugins.protocol import CliOutput, KeyEvent, Viewport, WireBuffer
from hangar.plugins.runtime import secrets, services
from hangar.plugins.runtime.actions import Action, ActionRegistry
from hangar.plugins.runtime.bus import BusLimits, Snapshot, SnapshotBus
from hangar.plugins.runtime.connection import Connection, Limits
from hangar.plugins.runtime.discovery import (
    Discovery,
    PluginSpec,
    discover,
    load_plugin_dir,
    search_dirs,
)
from hangar.plugins.runtime.errors import PluginError, PluginNotFound
from hangar.plugins.runtime.logsink import LogBudget, PluginLog
from hangar.plugins.runtime.managed import ManagedChildren
from hangar.plugins.runtime.sockets import SocketStreams
from hangar.plugins.runtime.state import QuarantineStore
from hangar.plugins.runtime.supervisor import PluginState, Policy, Supervisor, decode_result
from hangar.proto.jsonrpc import (
    CAPABILITY_DENIED,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    NOT_IMPLEMENTED,
    RpcError,
    encode_notification,
)

__all__ = ["LOG_LEVEL_ENV", "PluginHost", "PluginStatus"]

LOG_LEVEL_ENV = "AINB_PLUGIN_LOG_LEVEL"

_NOT_IMPLEMENTED = frozenset(
    {
        p.EVENT_STREAM_SUBSCRIBE,
        p.WORKSPACE_SET_ACTIVE,
        p.WORKSPACE_SET_DEFAULT,
    }
)


@dataclass(frozen=True)
class PluginStatus:
    id: str
    state: PluginState
    pid: int | None
    source: str
    dir: Path
    crashes: int
    """Crashes inside the current failure window."""
    restarts: int
    last_error: str | None
    last_exit: int | None
    dropped_notifications: int
    dropped_events: int
    denials: int = 0
    """Calls and publishes the capability gate refused."""
    dropped_logs: int = 0
    """Log lines over the plugin's budget."""


#: How long a call that raced the init reply may wait for Running before it is refused.
_INIT_RACE = 0.2
#: Bytes of chunk lists kept for ``host/snapshot/get`` (the newest is always kept).
_CHUNK_CACHE_BYTES = 64 * 1024 * 1024


class PluginHost:
    def __init__(
        self,
        *,
        paths: HangarPaths | None = None,
        dirs: Sequence[tuple[Path, str]] | None = None,
        policy: Policy | None = None,
        limits: Limits | None = None,
        log_level: str | None = None,
        home: Path | None = None,
        reserved: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
        bus_limits: BusLimits | None = None,
        log_lines_per_sec: int = 200,
        log_bytes_per_sec: int = 256 * 1024,
        secret_store: secrets.SecretStore | None = None,
        discovery: Discovery | None = None,
    ) -> None:
        """``dirs``: (directory, source) pairs to search; default: ``search_dirs()``.
        ``discovery``: one already made (with the same ``reserved``); ``dirs`` is then unused.
        ``home``: where the session-log roots live (default ``Path.home()``).
        ``bus_limits``: the event bus's byte budgets. ``log_*_per_sec``: what one plugin
        may log through ``host/log`` (and bad notifications) before lines are dropped.
        ``secret_store``: answers ``host/secret_store_get``; default: the environment
        (``AINB_SECRET_<SCOPE>_<KEY>``), then ``<data home>/secrets.toml``."""
        self._env = dict(os.environ if env is None else env)
        self.paths = HangarPaths.from_env(self._env) if paths is None else paths
        self.policy = policy or Policy()
        self.limits = limits or Limits()
        self.home = Path.home() if home is None else home
        level = log_level or self._env.get(LOG_LEVEL_ENV) or "info"
        self.log = PluginLog(self.paths.logs, level)
        self.store = QuarantineStore.under(self.paths)
        self.bus = SnapshotBus(limits=bus_limits)
        self.bus.add_listener(self._deliver)
        self.actions = ActionRegistry()
        self._reserved = set(reserved)
        if discovery is None:
            dirs = search_dirs(self.paths, self._env) if dirs is None else dirs
            discovery = discover(dirs, reserved=self._reserved)
        self.discovery = discovery
        self._sups: dict[str, Supervisor] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._closing = False
        self._log_rate = (log_lines_per_sec, log_bytes_per_sec)
        self._log_budgets: dict[str, LogBudget] = {}
        # topic -> (version, chunks): big gets fetch chunk by chunk; slice the payload once
        self._chunk_cache: OrderedDict[str, tuple[int, list[p.Chunk]]] = OrderedDict()
        self.secrets = secrets.ChainStore(
            [secret_store]
            if secret_store is not None
            else secrets.default_store(self._env, self.paths.root).stores
        )
        self.managed = ManagedChildren()
        self.sockets = SocketStreams()

    # -- setup and teardown -----------------------------------------------------------------

    async def start(self, *, eager: bool = True) -> None:
        """Start the idle reaper and, with ``eager``, the ``spawn = "eager"`` plugins."""
        if self._reaper is None:
            self._reaper = asyncio.create_task(self._reap_loop(), name="plugin-reaper")
        if eager:
            for spec in self.discovery.plugins.values():
                if spec.manifest.lifecycle.spawn == "eager":
                    self._spawn_quietly(spec.id)

    async def aclose(self) -> None:
        """Shut every plugin down (grace, then kill) and stop the reaper."""
        self._closing = True  # first: nothing may spawn while (or after) we stop them
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*(s.stop("host exit") for s in self._sups.values()))
        await self.managed.aclose()
        await self.sockets.aclose()
        self.log.close()

    async def __aenter__(self) -> PluginHost:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def load(self, plugin_dir: Path) -> PluginSpec:
        """Add the plugin in ``plugin_dir`` (validated; ``ManifestError`` otherwise).

        It replaces a discovered plugin of the same id that is not running.
        """
        spec = load_plugin_dir(plugin_dir)
        sup = self._sups.get(spec.id)
        if sup is not None and sup.state not in (PluginState.IDLE, PluginState.QUARANTINED):
            raise PluginError(spec.id, f"already running from {sup.spec.dir}")
        self._sups.pop(spec.id, None)
        self.discovery.add(spec, self._reserved)
        return spec

    # -- inspection --------------------------------------------------------------------------

    def spec(self, plugin_id: str) -> PluginSpec:
        spec = self.discovery.plugins.get(plugin_id)
        if spec is None:
            raise PluginNotFound(plugin_id, "no such plugin")
        return spec

    def supervisor(self, plugin_id: str) -> Supervisor:
        sup = self._sups.get(plugin_id)
        if sup is None:
            sup = self._sups[plugin_id] = Supervisor(self.spec(plugin_id), self)
        return sup

    def state(self, plugin_id: str) -> PluginState:
        return self.supervisor(plugin_id).state

    def pid(self, plugin_id: str) -> int | None:
        return self.supervisor(plugin_id).pid

    def status(self, plugin_id: str) -> PluginStatus:
        sup = self.supervisor(plugin_id)
        conn = sup.conn
        return PluginStatus(
            id=sup.id,
            state=sup.state,
            pid=sup.pid,
            source=sup.spec.source,
            dir=sup.spec.dir,
            crashes=len(sup.crashes),
            restarts=sup.restarts,
            last_error=sup.last_error,
            last_exit=sup.last_exit,
            dropped_notifications=0 if conn is None else conn.dropped_notifications,
            dropped_events=0 if conn is None else conn.dropped_events,
            denials=sup.gate.denials,
            dropped_logs=self._budget(sup.id).dropped,
        )

    def data_dir(self, plugin_id: str) -> Path:
        return self.paths.root / "plugins" / plugin_id / "data"

    # -- lifecycle control --------------------------------------------------------------------

    async def ensure_running(self, plugin_id: str, timeout: float | None = None) -> None:
        self._check_open(plugin_id)
        await self.supervisor(plugin_id).ensure_running(timeout)

    def _check_open(self, plugin_id: str) -> None:
        if self._closing:
            raise PluginError(plugin_id, "the plugin host is shutting down")

    async def stop(self, plugin_id: str) -> None:
        await self.supervisor(plugin_id).stop("stop")

    async def kill(self, plugin_id: str, sig: int = signal.SIGKILL) -> None:
        """Inject a crash (SIGKILL to the plugin's group); returns once it is noticed."""
        await self.supervisor(plugin_id).kill(sig)

    async def reload(self, plugin_id: str) -> PluginSpec:
        """Stop it, lift any quarantine, re-read its manifest: back to Idle."""
        sup = self.supervisor(plugin_id)
        await sup.reload()
        spec = load_plugin_dir(sup.spec.dir, sup.spec.source)
        self._sups.pop(plugin_id, None)
        self.discovery.add(spec, self._reserved)
        return spec

    # -- host → plugin ------------------------------------------------------------------------

    async def request(
        self, plugin_id: str, method: str, params: Any = None, timeout: float | None = None
    ) -> Any:
        """Any request, spawning the plugin if needed. Raises ``RpcError`` (its answer) or a
        ``PluginError`` (quarantined, timed out, crashed)."""
        self._check_open(plugin_id)
        return await self.supervisor(plugin_id).request(method, params, timeout)

    async def notify(self, plugin_id: str, method: str, params: Any = None) -> bool:
        self._check_open(plugin_id)
        conn = await self.supervisor(plugin_id).ensure_running()
        return conn.notify(method, params, key=method == p.HANDLE_KEY)

    async def render(
        self,
        plugin_id: str,
        viewport: Viewport,
        generation: int = 0,
        timeout: float | None = None,
    ) -> WireBuffer:
        """The plugin's cells for ``viewport``, clipped to it."""
        result = await self.request(
            plugin_id, p.RENDER, p.RenderParams(viewport, generation), timeout
        )
        buffer = decode_result(plugin_id, p.RENDER, result, p.RenderResult).buffer
        buffer.width, buffer.height = viewport.width, viewport.height
        return _strip_controls(buffer.clipped())

    async def handle_key(
        self, plugin_id: str, screen_id: str, key: KeyEvent, generation: int = 0
    ) -> bool:
        return await self.notify(
            plugin_id, p.HANDLE_KEY, p.HandleKeyParams(screen_id, key, generation)
        )

    async def cli_dispatch(
        self, namespace: str, argv: list[str], timeout: float | None = None
    ) -> CliOutput:
        """Run ``ainb <namespace> <argv…>`` in the plugin that owns the namespace."""
        spec = self.discovery.by_namespace(namespace)
        if spec is None:
            raise PluginNotFound(namespace, "no plugin provides this CLI namespace")
        wait = self.policy.cli_timeout if timeout is None else timeout
        params = p.CliDispatchParams(namespace, argv)
        result = await self.request(spec.id, p.CLI_DISPATCH, params, wait)
        return decode_result(spec.id, p.CLI_DISPATCH, result, CliOutput)

    # -- event bus and actions -----------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, source: str = "host") -> Snapshot | None:
        return self.bus.publish(topic, payload, source)

    def snapshot(self, topic: str) -> Snapshot | None:
        return self.bus.latest(topic)

    async def wait_snapshot(self, topic: str, timeout: float) -> Snapshot | None:
        return await self.bus.wait(topic, timeout)

    def register_action(self, name: str, fn: Action) -> None:
        """``fn(payload) -> bytes`` (sync or async) answers ``host/action/invoke``."""
        self.actions.register(name, fn)

    # -- plugin → host (called by supervisors) ---------------------------------------------------

    def plugin_env(self, spec: PluginSpec) -> dict[str, str]:
        # secrets reach a plugin only through host/secret_store_get, never its environment
        env = {k: v for k, v in self._env.items() if not k.startswith(secrets.ENV_PREFIX)}
        # a Python plugin runs under our interpreter: make sure it can import the SDK
        src = str(Path(hangar.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(x for x in (src, env.get("PYTHONPATH")) if x)
        env["AINB_HANGAR_HOME"] = str(self.paths.root)
        env["AINB_PLUGIN_ID"] = spec.id
        env["AINB_PLUGIN_DIR"] = str(spec.dir)
        env["AINB_PLUGIN_DATA_DIR"] = str(self.data_dir(spec.id))
        return env

    def on_running(self, sup: Supervisor) -> None:
        """A (re)started plugin catches up on the topics it subscribes to."""
        for topic in sup.spec.manifest.subscribes.snapshots:
            snap = self.bus.latest(topic)
            if snap is not None and sup.conn is not None and snap.source != sup.id:
                sup.conn.post_event(topic, self._event_bodies(snap))

    def on_gone(self, sup: Supervisor) -> None:
        self.managed.kill_plugin(sup.id)
        self.sockets.close_plugin(sup.id)
        self.bus.forget_source(sup.id)
        self._report_log_drops(sup.id, force=True)

    async def on_plugin_request(self, sup: Supervisor, method: str, params: Any) -> Any:
        await self._wait_initialised(sup)
        sup.gate.check(method, params)
        if method == p.SNAPSHOT_PUBLISH:  # meant as a notification; a request is answered
            self._publish(sup, params)
            return {}
        if method == p.SNAPSHOT_GET:
            return await self._snapshot_get(sup, p.from_wire(params, p.SnapshotGetParams))
        if method == p.SNAPSHOT_SUBSCRIBE:
            topic = p.from_wire(params, p.TopicParams).topic
            self.bus.subscribe(topic, sup.id)
            snap = self.bus.latest(topic)
            if snap is not None and sup.conn is not None and snap.source != sup.id:
                sup.conn.post_event(topic, self._event_bodies(snap))
            return {}
        if method == p.ACTION_INVOKE:
            inv = p.from_wire(params, p.ActionInvokeParams)
            payload = await self.actions.invoke(inv.action, inv.payload, inv.timeout_ms)
            return p.ActionInvokeResult(payload)
        # blocking services run on daemon pools: see services.py for why not asyncio.to_thread
        if method == p.FS_READ_FILE:
            path = sup.gate.fs_path(p.from_wire(params, p.FsPathParams).path)
            data = await services.run_in(services.fs_pool, services.read_file, path)
            return p.ReadFileResult(data)
        if method == p.FS_READ_DIR:
            path = sup.gate.fs_path(p.from_wire(params, p.FsPathParams).path)
            entries = await services.run_in(services.fs_pool, services.read_dir, path)
            return p.ReadDirResult(entries)
        if method == p.FS_WRITE_FILE:
            write = p.from_wire(params, p.FsWriteParams)
            path = sup.gate.fs_path(write.path, write=True)
            await services.run_in(services.fs_pool, services.write_file, path, write.bytes)
            return {}
        if method == p.NETWORK_FETCH:
            fetch = p.from_wire(params, p.NetworkFetchParams)
            return await services.run_in(services.net_pool, services.fetch, fetch)
        if method == p.SECRET_STORE_GET:
            q = p.from_wire(params, p.SecretGetParams)
            value = await services.run_in(services.fs_pool, self.secrets.require, q.scope, q.key)
            return p.SecretGetResult(value)
        if method == p.SPAWN_MANAGED_SUBPROCESS:
            spawn = p.from_wire(params, p.SpawnManagedParams)
            program = sup.gate.managed_program(spawn.argv, self._env.get("PATH", os.defpath))
            handle = await self.managed.spawn(
                sup.id,
                self._live_conn(sup),
                program,
                spawn,
                self.plugin_env(sup.spec),
                str(sup.spec.dir),
            )
            return p.SpawnManagedResult(handle)
        if method == p.UNIX_SOCKET_DIAL:
            sock = sup.gate.socket_path(p.from_wire(params, p.UnixSocketDialParams).path)
            return p.UnixSocketDialResult(
                await self.sockets.dial(sup.id, self._live_conn(sup), sock)
            )
        if method in _NOT_IMPLEMENTED:
            raise RpcError(NOT_IMPLEMENTED, f"{method} is not implemented by this host")
        raise RpcError(METHOD_NOT_FOUND, f"method not found: {method}")

    async def on_plugin_notification(self, sup: Supervisor, method: str, params: Any) -> None:
        try:
            if method == p.LOG:
                entry = p.from_wire(params, p.LogParams)
                fields = entry.fields or {}
                self._plugin_log(sup.id, entry.level, "plugin.log", entry.message, **fields)
            elif method == p.SNAPSHOT_PUBLISH:
                try:
                    sup.gate.check(method, params)
                except RpcError as exc:  # a notification cannot be answered: log the denial
                    if exc.code != CAPABILITY_DENIED:
                        raise
                    self._plugin_log(sup.id, "warn", "plugin.denied", f"{method}: {exc.message}")
                    return
                self._publish(sup, params)
            elif method in (p.UNIX_SOCKET_SEND, p.UNIX_SOCKET_CLOSE):
                # a stream exists only after a gated dial, and only its dialler can use it
                if method == p.UNIX_SOCKET_SEND:
                    self.sockets.send(sup.id, p.from_wire(params, p.UnixSocketSendParams))
                else:
                    stream_id = p.from_wire(params, p.UnixSocketCloseParams).stream_id
                    self.sockets.close(sup.id, stream_id)
            # other notifications (event_stream_cancel) have nothing to act on
        except RpcError as exc:  # logged here, under the plugin's budget, not per bad line
            self._plugin_log(sup.id, "warn", "plugin.bad_notification", f"{method}: {exc.message}")

    def _publish(self, sup: Supervisor, params: Any) -> None:
        pub = p.from_wire(params, p.SnapshotPublishParams)
        dropped = self.bus.dropped
        if pub.chunk is not None:
            self.bus.publish_chunk(pub.topic, pub.chunk, sup.id)
        else:
            self.bus.publish(pub.topic, pub.payload, sup.id)
        if self.bus.dropped != dropped:
            msg = f"publish on {pub.topic!r} dropped (over the bus's size, topic or byte limits)"
            self._plugin_log(sup.id, "warn", "plugin.publish_dropped", msg)

    def _live_conn(self, sup: Supervisor) -> Connection:
        """The connection a new child or stream reports to (and dies with)."""
        conn = sup.conn
        if conn is None or conn.lost.done() or self._closing:
            raise RpcError(INTERNAL_ERROR, "the plugin is going away")
        return conn

    async def _wait_initialised(self, sup: Supervisor) -> None:
        """Refuse calls before the init reply (-32001): the handshake comes first.

        The state flips to Running a few loop turns after the reply is read, so a call the
        plugin sent right behind its reply gets a moment to see it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _INIT_RACE
        while sup.state is PluginState.SPAWNING and loop.time() < deadline:
            await asyncio.sleep(0.005)
        if sup.state not in (PluginState.RUNNING, PluginState.SHUTTING_DOWN):
            sup.gate.denials += 1
            raise RpcError(CAPABILITY_DENIED, "not initialised")

    # -- plugin-driven logging, under a per-plugin budget --------------------------------------

    def _budget(self, plugin_id: str) -> LogBudget:
        budget = self._log_budgets.get(plugin_id)
        if budget is None:
            budget = self._log_budgets[plugin_id] = LogBudget(*self._log_rate)
        return budget

    def _plugin_log(self, plugin_id: str, level: str, event: str, msg: str, **fields: Any) -> None:
        if not self.log.enabled(level):
            return
        size = len(msg) + (len(repr(fields)) if fields else 0)
        if self._budget(plugin_id).allow(size):
            self.log.write(level, event, plugin_id, msg, **fields)
        self._report_log_drops(plugin_id)

    def _report_log_drops(self, plugin_id: str, force: bool = False) -> None:
        budget = self._log_budgets.get(plugin_id)
        count = 0 if budget is None else budget.report_due(force)
        if count:
            self.log.write(
                "warn",
                "plugin.log_dropped",
                plugin_id,
                f"{count} log lines over the budget dropped",
                dropped=count,
                total=budget.dropped if budget is not None else count,
            )

    async def _snapshot_get(self, sup: Supervisor, q: p.SnapshotGetParams) -> p.SnapshotGetResult:
        snap = self.bus.latest(q.topic)
        if snap is None and q.chunk_index == 0:
            providers = [s for s in self.discovery.providers(q.topic) if s.id != sup.id]
            for spec in providers:
                self._spawn_quietly(spec.id)
            if providers:
                snap = await self.bus.wait(q.topic, self.policy.provider_wait)
        if snap is None:
            return p.SnapshotGetResult(version=0)
        if len(snap.payload) <= p.CHUNK_SIZE:
            return p.SnapshotGetResult(version=snap.version, payload=snap.payload)
        if q.version not in (None, snap.version):
            raise RpcError(INVALID_PARAMS, f"snapshot {q.topic!r} changed; start over")
        chunks = self._chunks(snap)
        if not 0 <= q.chunk_index < len(chunks):
            raise RpcError(INVALID_PARAMS, f"no chunk {q.chunk_index} in {q.topic!r}")
        return p.SnapshotGetResult(version=snap.version, chunk=chunks[q.chunk_index])

    def _chunks(self, snap: Snapshot) -> list[p.Chunk]:
        """``snap``'s chunks, sliced once per (topic, version), not once per request."""
        hit = self._chunk_cache.get(snap.topic)
        if hit is not None and hit[0] == snap.version:
            self._chunk_cache.move_to_end(snap.topic)
            return hit[1]
        chunks = p.chunk_payload(snap.payload, snap.version, snap.published_ns)
        self._chunk_cache[snap.topic] = (snap.version, chunks)
        self._chunk_cache.move_to_end(snap.topic)
        cached = sum(len(c.data) for _, cs in self._chunk_cache.values() for c in cs)
        while cached > _CHUNK_CACHE_BYTES and len(self._chunk_cache) > 1:
            _, (_, old) = self._chunk_cache.popitem(last=False)
            cached -= sum(len(c.data) for c in old)
        return chunks

    def _event_bodies(self, snap: Snapshot) -> list[bytes]:
        """The ``plugin/handle_event`` frames for one snapshot (several when chunked)."""
        if len(snap.payload) <= p.CHUNK_SIZE:
            params = p.HandleEventParams(snap.topic, snap.payload)
            return [encode_notification(p.HANDLE_EVENT, params)]
        return [
            encode_notification(p.HANDLE_EVENT, p.HandleEventParams(snap.topic, chunk=c))
            for c in self._chunks(snap)
        ]

    def _deliver(self, snap: Snapshot) -> None:
        stale = self._chunk_cache.get(snap.topic)
        if stale is not None and stale[0] != snap.version:
            del self._chunk_cache[snap.topic]  # the old version's slices are dead weight now
        bodies: list[bytes] | None = None
        subscribed = self.bus.subscribers(snap.topic)
        for sup in self._sups.values():
            conn = sup.conn
            if conn is None or sup.id == snap.source or sup.state is not PluginState.RUNNING:
                continue
            wanted = snap.topic in sup.spec.manifest.subscribes.snapshots
            if wanted or sup.id in subscribed:
                bodies = bodies or self._event_bodies(snap)
                conn.post_event(snap.topic, bodies)

    def _spawn_quietly(self, plugin_id: str) -> None:
        if self._closing:
            return

        async def go() -> None:
            try:
                await self.ensure_running(plugin_id)
            except PluginError as exc:
                self.log.write("warn", "plugin.start_failed", plugin_id, exc.message)

        task = asyncio.create_task(go())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _reap_loop(self) -> None:
        while True:
            await asyncio.sleep(self.policy.reap_interval)
            for sup in list(self._sups.values()):
                limit = sup.spec.manifest.lifecycle.idle_reap_secs
                if limit > 0 and sup.idle_for() > limit:
                    self.log.write("info", "plugin.reap", sup.id, f"idle for {limit:g}s")
                    task = asyncio.create_task(sup.stop("idle"))
                    self._background.add(task)
                    task.add_done_callback(self._background.discard)


# C0, DEL and C1: an ESC in a cell symbol would reach the terminal as an escape sequence
# (OSC 52 writes the clipboard), so a plugin's cells never carry any of them.
_CONTROLS = dict.fromkeys([*range(0x20), *range(0x7F, 0xA0)])


def _strip_controls(buffer: WireBuffer) -> WireBuffer:
    cells = buffer.cells
    for i, (coord, cell) in enumerate(cells):
        symbol = cell.symbol
        if symbol.isprintable():  # fast path: nothing to strip (it is false for controls)
            continue
        clean = symbol.translate(_CONTROLS)
        if clean != symbol:
            cells[i] = (coord, p.Cell(clean or " ", cell.fg, cell.bg, cell.modifier))
    return buffer
