"""The ``host/*`` calls a plugin makes, routed by method through ``proto.routes`` (the
helper the daemon's RPC uses) and served by the explicit objects they need.

Each handler takes the calling plugin's supervisor and its typed params. The host lets a
request reach the table only once the plugin is initialised (``wait_initialised``) and
its capability gate let the call through; path, program and socket checks that need the
typed params happen here, through the same gate. Params decode with the plugin protocol's
``from_wire``, which also takes bytes as legacy integer arrays.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from typing import Any

from hangar.plugins import protocol as p
from hangar.plugins.runtime import services
from hangar.plugins.runtime.actions import ActionRegistry
from hangar.plugins.runtime.connection import Connection
from hangar.plugins.runtime.discovery import PluginSpec
from hangar.plugins.runtime.logsink import BudgetedLog
from hangar.plugins.runtime.managed import ManagedChildren
from hangar.plugins.runtime.policy import PluginState
from hangar.plugins.runtime.secrets import ChainStore
from hangar.plugins.runtime.snapshots import SnapshotService
from hangar.plugins.runtime.sockets import SocketStreams
from hangar.plugins.runtime.supervisor import Supervisor
from hangar.proto.jsonrpc import CAPABILITY_DENIED, INTERNAL_ERROR, NOT_IMPLEMENTED, RpcError
from hangar.proto.routes import Handler, RouteTable

__all__ = ["INIT_RACE", "NOT_IMPLEMENTED_METHODS", "HostServices", "wait_initialised"]

#: Host methods of the protocol this host does not serve: they answer -32005.
NOT_IMPLEMENTED_METHODS = frozenset(
    {
        p.EVENT_STREAM_SUBSCRIBE,
        p.WORKSPACE_SET_ACTIVE,
        p.WORKSPACE_SET_DEFAULT,
    }
)
#: How long a call that raced the init reply may wait for Running before it is refused.
INIT_RACE = 0.2


async def wait_initialised(sup: Supervisor) -> None:
    """Refuse calls before the init reply (-32001): the handshake comes first.

    The state flips to Running a few loop turns after the reply is read, so a call the
    plugin sent right behind its reply gets a moment to see it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + INIT_RACE
    while sup.state is PluginState.SPAWNING and loop.time() < deadline:
        await asyncio.sleep(0.005)
    if sup.state not in (PluginState.RUNNING, PluginState.SHUTTING_DOWN):
        sup.gate.denials += 1
        raise RpcError(CAPABILITY_DENIED, "not initialised")


class HostServices:
    """``requests`` and ``notifications``: the two route tables of plugin → host calls."""

    def __init__(
        self,
        *,
        snapshots: SnapshotService,
        actions: ActionRegistry,
        secrets: ChainStore,
        managed: ManagedChildren,
        sockets: SocketStreams,
        env: Mapping[str, str],
        plugin_env: Callable[[PluginSpec], dict[str, str]],
        log: BudgetedLog,
        closing: Callable[[], bool],
    ) -> None:
        """``env``: the host's environment (its ``PATH`` finds managed programs);
        ``plugin_env``: a plugin's environment, which its managed children get too;
        ``closing``: whether the host is shutting down (no new children or streams then)."""
        self.snapshots = snapshots
        self.actions = actions
        self.secrets = secrets
        self.managed = managed
        self.sockets = sockets
        self._env = env
        self._plugin_env = plugin_env
        self._log = log
        self._closing = closing
        self.requests = self._request_routes()
        self.notifications = self._notification_routes()

    def _request_routes(self) -> RouteTable[Supervisor]:
        table: RouteTable[Supervisor] = RouteTable(p.from_wire, null_is_empty=False)
        # meant as a notification; a request is answered
        table.add(p.SNAPSHOT_PUBLISH, p.SnapshotPublishParams, self.snapshot_publish)
        table.add(p.SNAPSHOT_GET, p.SnapshotGetParams, self.snapshot_get)
        table.add(p.SNAPSHOT_SUBSCRIBE, p.TopicParams, self.snapshot_subscribe)
        table.add(p.ACTION_INVOKE, p.ActionInvokeParams, self.action_invoke)
        table.add(p.FS_READ_FILE, p.FsPathParams, self.fs_read_file)
        table.add(p.FS_READ_DIR, p.FsPathParams, self.fs_read_dir)
        table.add(p.FS_WRITE_FILE, p.FsWriteParams, self.fs_write_file)
        table.add(p.NETWORK_FETCH, p.NetworkFetchParams, self.network_fetch)
        table.add(p.SECRET_STORE_GET, p.SecretGetParams, self.secret_get)
        table.add(p.SPAWN_MANAGED_SUBPROCESS, p.SpawnManagedParams, self.spawn_managed)
        table.add(p.UNIX_SOCKET_DIAL, p.UnixSocketDialParams, self.unix_socket_dial)
        for method in sorted(NOT_IMPLEMENTED_METHODS):
            table.add(method, None, _not_implemented(method))
        return table

    def _notification_routes(self) -> RouteTable[Supervisor]:
        table: RouteTable[Supervisor] = RouteTable(p.from_wire, null_is_empty=False)
        table.add(p.LOG, p.LogParams, self.log_line)
        # raw params: the gate sees them before they are decoded, as for a request
        table.add(p.SNAPSHOT_PUBLISH, None, self.notified_publish)
        # a stream exists only after a gated dial, and only its dialler can use it
        table.add(p.UNIX_SOCKET_SEND, p.UnixSocketSendParams, self.unix_socket_send)
        table.add(p.UNIX_SOCKET_CLOSE, p.UnixSocketCloseParams, self.unix_socket_close)
        return table

    async def notified(self, sup: Supervisor, method: str, params: Any) -> None:
        """Act on a notification; one that cannot be acted on is logged, never answered."""
        if method not in self.notifications:
            return  # the others (event_stream_cancel) have nothing to act on
        try:
            await self.notifications.dispatch(sup, method, params)
        except RpcError as exc:  # logged here, under the plugin's budget, not per bad line
            self._log.write(sup.id, "warn", "plugin.bad_notification", f"{method}: {exc.message}")

    # -- snapshots and actions ---------------------------------------------------------------

    async def snapshot_publish(self, sup: Supervisor, pub: p.SnapshotPublishParams) -> Any:
        self.snapshots.publish(sup, pub)
        return {}

    async def snapshot_get(self, sup: Supervisor, q: p.SnapshotGetParams) -> p.SnapshotGetResult:
        return await self.snapshots.get(sup, q)

    async def snapshot_subscribe(self, sup: Supervisor, q: p.TopicParams) -> Any:
        self.snapshots.subscribe(sup, q.topic)
        return {}

    async def action_invoke(
        self, sup: Supervisor, inv: p.ActionInvokeParams
    ) -> p.ActionInvokeResult:
        payload = await self.actions.invoke(inv.action, inv.payload, inv.timeout_ms)
        return p.ActionInvokeResult(payload)

    # -- blocking services run on daemon pools: see services.py for why not asyncio.to_thread

    async def fs_read_file(self, sup: Supervisor, q: p.FsPathParams) -> p.ReadFileResult:
        path = sup.gate.fs_path(q.path)
        data = await services.run_in(services.fs_pool, services.read_file, path)
        return p.ReadFileResult(data)

    async def fs_read_dir(self, sup: Supervisor, q: p.FsPathParams) -> p.ReadDirResult:
        path = sup.gate.fs_path(q.path)
        entries = await services.run_in(services.fs_pool, services.read_dir, path)
        return p.ReadDirResult(entries)

    async def fs_write_file(self, sup: Supervisor, write: p.FsWriteParams) -> Any:
        path = sup.gate.fs_path(write.path, write=True)
        await services.run_in(services.fs_pool, services.write_file, path, write.bytes)
        return {}

    async def network_fetch(
        self, sup: Supervisor, fetch: p.NetworkFetchParams
    ) -> p.NetworkFetchResult:
        return await services.run_in(services.net_pool, services.fetch, fetch)

    async def secret_get(self, sup: Supervisor, q: p.SecretGetParams) -> p.SecretGetResult:
        value = await services.run_in(services.fs_pool, self.secrets.require, q.scope, q.key)
        return p.SecretGetResult(value)

    # -- children and streams that live as long as the plugin's connection ------------------

    async def spawn_managed(
        self, sup: Supervisor, spawn: p.SpawnManagedParams
    ) -> p.SpawnManagedResult:
        program = sup.gate.managed_program(spawn.argv, self._env.get("PATH", os.defpath))
        handle = await self.managed.spawn(
            sup.id,
            self._live_conn(sup),
            program,
            spawn,
            self._plugin_env(sup.spec),
            str(sup.spec.dir),
        )
        return p.SpawnManagedResult(handle)

    async def unix_socket_dial(
        self, sup: Supervisor, q: p.UnixSocketDialParams
    ) -> p.UnixSocketDialResult:
        sock = sup.gate.socket_path(q.path)
        return p.UnixSocketDialResult(await self.sockets.dial(sup.id, self._live_conn(sup), sock))

    def _live_conn(self, sup: Supervisor) -> Connection:
        """The connection a new child or stream reports to (and dies with)."""
        conn = sup.conn
        if conn is None or conn.lost.done() or self._closing():
            raise RpcError(INTERNAL_ERROR, "the plugin is going away")
        return conn

    # -- notifications ---------------------------------------------------------------------------

    async def log_line(self, sup: Supervisor, entry: p.LogParams) -> None:
        fields = entry.fields or {}
        self._log.write(sup.id, entry.level, "plugin.log", entry.message, **fields)

    async def notified_publish(self, sup: Supervisor, params: Any) -> None:
        method = p.SNAPSHOT_PUBLISH
        try:
            sup.gate.check(method, params)
        except RpcError as exc:  # a notification cannot be answered: log the denial
            if exc.code != CAPABILITY_DENIED:
                raise
            self._log.write(sup.id, "warn", "plugin.denied", f"{method}: {exc.message}")
            return
        self.snapshots.publish(sup, p.from_wire(params, p.SnapshotPublishParams))

    async def unix_socket_send(self, sup: Supervisor, q: p.UnixSocketSendParams) -> None:
        self.sockets.send(sup.id, q)

    async def unix_socket_close(self, sup: Supervisor, q: p.UnixSocketCloseParams) -> None:
        self.sockets.close(sup.id, q.stream_id)


def _not_implemented(method: str) -> Handler[Supervisor]:
    async def refuse(sup: Supervisor, params: Any) -> Any:
        raise RpcError(NOT_IMPLEMENTED, f"{method} is not implemented by this host")

    return refuse
