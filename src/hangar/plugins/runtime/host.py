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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from hangar.core.env_policy import EnvPolicy
from hangar.core.paths import HangarPaths
from hangar.plugins import protocol as p
from hangar.plugins.protocol import CliOutput, KeyEvent, Viewport, WireBuffer
from hangar.plugins.runtime import secrets
from hangar.plugins.runtime.actions import Action, ActionRegistry
from hangar.plugins.runtime.bus import BusLimits, Snapshot, SnapshotBus
from hangar.plugins.runtime.connection import Limits
from hangar.plugins.runtime.discovery import (
    Discovery,
    PluginSpec,
    discover,
    load_plugin_dir,
    search_dirs,
)
from hangar.plugins.runtime.environment import load_policy, plugin_environment
from hangar.plugins.runtime.errors import PluginError, PluginNotFound
from hangar.plugins.runtime.gate import CapabilityGate
from hangar.plugins.runtime.host_services import HostServices, wait_initialised
from hangar.plugins.runtime.logsink import BudgetedLog, PluginLog
from hangar.plugins.runtime.managed import ManagedChildren
from hangar.plugins.runtime.policy import PluginState, Policy
from hangar.plugins.runtime.results import decode_result, strip_controls
from hangar.plugins.runtime.snapshots import SnapshotService
from hangar.plugins.runtime.sockets import SocketStreams
from hangar.plugins.runtime.state import QuarantineStore
from hangar.plugins.runtime.supervisor import Supervisor

__all__ = ["LOG_LEVEL_ENV", "PluginHost", "PluginStatus"]

LOG_LEVEL_ENV = "AINB_PLUGIN_LOG_LEVEL"


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

    @classmethod
    def of(cls, sup: Supervisor, *, dropped_logs: int) -> PluginStatus:
        conn = sup.conn
        return cls(
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
            dropped_logs=dropped_logs,
        )


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
        env_policy: EnvPolicy | None = None,
    ) -> None:
        """``dirs``: (directory, source) pairs to search; default: ``search_dirs()``.
        ``discovery``: one already made (with the same ``reserved``); ``dirs`` is then unused.
        ``home``: where the session-log roots live (default ``Path.home()``).
        ``bus_limits``: the event bus's byte budgets. ``log_*_per_sec``: what one plugin
        may log through ``host/log`` (and bad notifications) before lines are dropped.
        ``secret_store``: answers ``host/secret_store_get``; default: the environment
        (``AINB_SECRET_<SCOPE>_<KEY>``), then ``<data home>/secrets.toml``.
        ``env_policy``: the allowlist plugins' environments are built with; default: the
        user's ``<data home>/env.allow.toml``, as the daemon reads it (read when a plugin
        first starts; a file the daemon would refuse keeps every plugin from starting)."""
        self._env = dict(os.environ if env is None else env)
        self._env_policy: EnvPolicy | str | None = env_policy  # str: why the file is refused
        self.paths = HangarPaths.from_env(self._env) if paths is None else paths
        self.policy = policy or Policy()
        self.limits = limits or Limits()
        self.home = Path.home() if home is None else home
        level = log_level or self._env.get(LOG_LEVEL_ENV) or "info"
        self.log = PluginLog(self.paths.logs, level)
        # what plugins make the host log (host/log, bad notifications), under their budgets
        self._plugin_log = BudgetedLog(self.log, log_lines_per_sec, log_bytes_per_sec)
        self.store = QuarantineStore.under(self.paths)
        self.bus = SnapshotBus(limits=bus_limits)
        self.snapshots = SnapshotService(self.bus, self._plugin_log, self._await_provider)
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
        self.secrets = secrets.ChainStore(
            [secret_store]
            if secret_store is not None
            else secrets.default_store(self._env, self.paths.root).stores
        )
        self.managed = ManagedChildren()
        self.sockets = SocketStreams()
        self.services = HostServices(
            snapshots=self.snapshots,
            actions=self.actions,
            secrets=self.secrets,
            managed=self.managed,
            sockets=self.sockets,
            env=self._env,
            plugin_env=self.plugin_env,
            log=self._plugin_log,
            closing=lambda: self._closing,
        )

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
            spec = self.spec(plugin_id)
            sup = self._sups[plugin_id] = Supervisor(
                spec,
                self,
                policy=self.policy,
                limits=self.limits,
                gate=CapabilityGate(spec.manifest, self.data_dir(spec.id), self.home),
                log=self.log,
                store=self.store,
            )
        return sup

    def state(self, plugin_id: str) -> PluginState:
        return self.supervisor(plugin_id).state

    def pid(self, plugin_id: str) -> int | None:
        return self.supervisor(plugin_id).pid

    def status(self, plugin_id: str) -> PluginStatus:
        sup = self.supervisor(plugin_id)
        return PluginStatus.of(sup, dropped_logs=self._plugin_log.budget(sup.id).dropped)

    def data_dir(self, plugin_id: str) -> Path:
        return self.paths.root / "plugins" / plugin_id / "data"

    # -- lifecycle control --------------------------------------------------------------------

    async def ensure_running(self, plugin_id: str, timeout: float | None = None) -> None:
        self._check_open(plugin_id)
        await self.supervisor(plugin_id).ensure_running(timeout)

    def _check_open(self, plugin_id: str) -> None:
        if self._closing:
            raise PluginError(plugin_id, "the plugin host is shutting down")
        if isinstance(self._policy(), str):
            raise PluginError(plugin_id, f"cannot build its environment: {self._policy()}")

    def _policy(self) -> EnvPolicy | str:
        """The environment policy, or why the user's allow file is refused."""
        if self._env_policy is None:
            try:
                self._env_policy = load_policy(self.paths.root)
            except ValueError as exc:
                self._env_policy = str(exc)
        return self._env_policy

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
        return strip_controls(buffer.clipped())

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
        """The scrubbed environment ``spec`` starts with (docs/plugins.md#environment)."""
        policy = self._policy()
        if isinstance(policy, str):  # ``_check_open`` refused the start already; fail closed
            policy = EnvPolicy(allow=())
        return plugin_environment(self._env, spec, self.data_dir(spec.id), policy)

    def on_running(self, sup: Supervisor) -> None:
        """A (re)started plugin catches up on the topics it subscribes to."""
        self.snapshots.catch_up(sup)

    def on_gone(self, sup: Supervisor) -> None:
        self.managed.kill_plugin(sup.id)
        self.sockets.close_plugin(sup.id)
        self.bus.forget_source(sup.id)
        self._plugin_log.report_drops(sup.id, force=True)

    async def on_plugin_request(self, sup: Supervisor, method: str, params: Any) -> Any:
        """Initialised first, then the capability gate, then the method's route."""
        await wait_initialised(sup)
        sup.gate.check(method, params)
        return await self.services.requests.dispatch(sup, method, params)

    async def on_plugin_notification(self, sup: Supervisor, method: str, params: Any) -> None:
        await self.services.notified(sup, method, params)

    async def _await_provider(self, topic: str, asker: str) -> Snapshot | None:
        """Start ``topic``'s providers (``asker`` aside); their first publish, if in time."""
        providers = [s for s in self.discovery.providers(topic) if s.id != asker]
        for spec in providers:
            self._spawn_quietly(spec.id)
        if not providers:
            return None
        return await self.bus.wait(topic, self.policy.provider_wait)

    async def _snapshot_get(self, sup: Supervisor, q: p.SnapshotGetParams) -> p.SnapshotGetResult:
        """``host/snapshot/get`` without the gate (the chunk-cache test drives it directly)."""
        return await self.snapshots.get(sup, q)

    def _deliver(self, snap: Snapshot) -> None:
        self.snapshots.deliver(snap, self._sups.values())

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
