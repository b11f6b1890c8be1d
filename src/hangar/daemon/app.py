"""The daemon: boot order, the loops it runs, and an orderly shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

from hangar.core import tokens
from hangar.core.clock import Clock, SystemClock
from hangar.core.ids import IdGen, UlidGen
from hangar.daemon import sweeper
from hangar.daemon.bus import EventBus
from hangar.daemon.config import DaemonConfig
from hangar.daemon.context import DaemonContext
from hangar.daemon.dispatcher import Dispatcher
from hangar.daemon.handlers import Handlers
from hangar.daemon.lock import InstanceLock
from hangar.daemon.observability import configure_logging, get_logger
from hangar.daemon.server import RpcServer
from hangar.daemon.session_handlers import SessionHandlers
from hangar.daemon.sessions.executor import SubprocessExecutor
from hangar.daemon.sessions.service import SessionService
from hangar.daemon.sessions.tmux import Tmux
from hangar.store import Store

MAX_SOCKET_PATH = 107  # sun_path is 108 bytes with the terminating NUL


def _secure_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


class Daemon:
    def __init__(
        self, config: DaemonConfig, *, clock: Clock | None = None, ids: IdGen | None = None
    ) -> None:
        self.config = config
        self.paths = config.paths
        self.clock = clock or SystemClock()
        self.ids = ids or UlidGen()
        self.log: Any = None
        self.ctx: DaemonContext
        self.dispatcher: Dispatcher
        self.server: RpcServer | None = None
        self.sessions: SessionService
        self.session_handlers: SessionHandlers
        self._lock = InstanceLock(self.paths.lock)
        self._stop = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._token_digest = ""

    def request_stop(self) -> None:
        self._stop.set()

    async def start(self) -> None:
        if len(str(self.paths.socket).encode()) > MAX_SOCKET_PATH:
            raise ValueError(
                f"socket path {self.paths.socket} is longer than unix sockets allow "
                f"({MAX_SOCKET_PATH} bytes); set AINB_HANGAR_HOME to a shorter directory"
            )
        _secure_dir(self.paths.root)
        _secure_dir(self.paths.logs)
        self._lock.acquire()  # raises AlreadyRunning
        configure_logging(
            self.paths.logs, echo_stderr=self.config.echo_logs, level=self.config.log_level
        )
        self.log = get_logger("hangar.daemon")
        store = await Store.open(self.config.database_url, clock=self.clock, ids=self.ids)
        self.ctx = DaemonContext(
            store=store,
            paths=self.paths,
            clock=self.clock,
            bus=EventBus(),
            log=self.log,
            env_policy=self.config.env_policy,
            daemon_id=self._daemon_id(),
            default_inactivity_ms=self.config.inactivity_ms,
            default_max_runtime_ms=self.config.max_runtime_ms,
            kill_grace_s=self.config.kill_grace_s,
        )
        await self._ensure_token()
        await sweeper.recover(self.ctx)
        self.sessions = SessionService(
            self.ctx,
            Tmux(SubprocessExecutor(), socket_name=self.config.tmux_socket),
            prefix=self.config.session_prefix,
            launch_probe_s=self.config.launch_probe_s,
        )
        self.session_handlers = SessionHandlers(store, self.sessions)
        await self.sessions.reconcile()
        await store.runtimes_heartbeat(self.ctx.daemon_id)
        self.dispatcher = Dispatcher(self.ctx, slots=self.config.slots)
        handlers = Handlers(self)
        self.server = RpcServer(self.paths.socket, handlers.table(), self._verify, self.log)
        await self.server.start()
        _write_private(self.paths.pid, f"{os.getpid()}\n")
        self._loops = [
            asyncio.create_task(self.dispatcher.run(), name="claim-loop"),
            asyncio.create_task(
                sweeper.sweep_loop(self.ctx, self.config.sweep_interval_s), name="sweeper"
            ),
            asyncio.create_task(sweeper.heartbeat_loop(self.ctx), name="heartbeat"),
            asyncio.create_task(self.sessions.watch(), name="session-watch"),
        ]
        self.log.info(
            "daemon started",
            pid=os.getpid(),
            socket=str(self.paths.socket),
            database=store.dialect,
            daemon_id=self.ctx.daemon_id,
            slots=self.config.slots,
        )

    async def wait_stopped(self) -> None:
        await self._stop.wait()

    async def stop(self) -> None:
        self.log.info("daemon stopping")
        if self.server is not None:
            await self.server.stop()
        await self.dispatcher.shutdown(self._loops[0] if self._loops else None)
        for t in self._loops:
            t.cancel()
        for t in self._loops:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        with contextlib.suppress(Exception):
            await self.ctx.store.runtimes_mark_offline(self.ctx.daemon_id)
        await self.ctx.store.close()
        with contextlib.suppress(FileNotFoundError):
            self.paths.pid.unlink()
        self.log.info("daemon stopped")
        self._lock.release()

    def _daemon_id(self) -> str:
        """Stable per home: the runtimes (and so the tasks) this daemon owns survive restarts."""
        path = self.paths.daemon_id_file
        try:
            value = path.read_text().strip()
            if value:
                return value
        except FileNotFoundError:
            pass
        value = self.ids.new_id(self.clock.now_ms())
        _write_private(path, value + "\n")
        return value

    async def _ensure_token(self) -> None:
        """Keep the token file when it matches the stored digest; otherwise mint a new one.
        Only the digest is stored; the plaintext lives in the 0600 file alone."""
        store = self.ctx.store
        stored = await store.socket_token_digest()
        try:
            plaintext = self.paths.token.read_text().strip()
        except FileNotFoundError:
            plaintext = ""
        if plaintext and stored and tokens.verify(plaintext, stored):
            self._token_digest = stored
            return
        plaintext = tokens.mint_token(tokens.DAEMON_PREFIX)
        digest = tokens.digest(plaintext)
        await store.socket_token_set(digest)
        _write_private(self.paths.token, plaintext + "\n")
        self._token_digest = digest

    def _verify(self, token: str) -> bool:
        return bool(self._token_digest) and tokens.verify(token, self._token_digest)
