"""The composition root: builds every service from the configuration, wires them with
explicit arguments, runs the loops, and stops them in order. Nothing imports this module
but the daemon's entry point and tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from hangar.adapters.executor import SubprocessExecutor
from hangar.adapters.files import private_dir, write_private
from hangar.adapters.secrets import LazyStore, SecretStore, open_store
from hangar.core import tokens
from hangar.core.clock import Clock, SystemClock
from hangar.core.env_policy import ALLOW_FILE
from hangar.core.ids import IdGen, UlidGen
from hangar.daemon.autopilots.scheduler import Scheduler
from hangar.daemon.beads import BeadsSync
from hangar.daemon.config import BeadsSettings, ConfigError, DaemonConfig
from hangar.daemon.environment import AgentEnvironment
from hangar.daemon.events import EventBus, MemoryEventBus
from hangar.daemon.lifecycle import Lifecycle
from hangar.daemon.lock import InstanceLock
from hangar.daemon.notify import NotifyService, NotifySettings
from hangar.daemon.observability import configure_logging, get_logger
from hangar.daemon.rpc.agents import AgentRoutes
from hangar.daemon.rpc.auth import TokenGate
from hangar.daemon.rpc.autopilots import AutopilotRoutes
from hangar.daemon.rpc.beads import BeadsRoutes
from hangar.daemon.rpc.comments import CommentRoutes
from hangar.daemon.rpc.common import Routes, merged
from hangar.daemon.rpc.health import HealthRoutes, Load
from hangar.daemon.rpc.issues import IssueRoutes
from hangar.daemon.rpc.notify import NotifyRoutes
from hangar.daemon.rpc.server import RpcServer
from hangar.daemon.rpc.sessions import SessionRoutes
from hangar.daemon.rpc.settings import SettingsRoutes
from hangar.daemon.rpc.skills import SkillRoutes
from hangar.daemon.rpc.tasks import TaskRoutes
from hangar.daemon.rpc.tokens import TokenRoutes
from hangar.daemon.rpc.workspaces import WorkspaceRoutes
from hangar.daemon.sessions.service import SessionService
from hangar.daemon.sessions.tmux import Tmux
from hangar.daemon.signals import RunSignals
from hangar.daemon.tasks import sweeper
from hangar.daemon.tasks.dispatcher import Dispatcher
from hangar.daemon.tasks.rowcache import RowCache
from hangar.daemon.tasks.runner import RunnerDeps, RunSettings, TaskRunner
from hangar.daemon.tracing import Tracing
from hangar.daemon.tracing import configure as configure_tracing
from hangar.store import Store
from hangar.toolkit import SKILLS_DIR

MAX_SOCKET_PATH = 107  # sun_path is 108 bytes with the terminating NUL


class Daemon:
    def __init__(
        self,
        config: DaemonConfig,
        *,
        clock: Clock | None = None,
        ids: IdGen | None = None,
        events: EventBus | None = None,
        parent_env: dict[str, str] | None = None,
        secrets: SecretStore | None = None,
    ) -> None:
        """``secrets``: where agents' API keys are kept (default: the keychain, else
        ``<home>/secrets.toml``, chosen on first use: ``config.secrets_backend``)."""
        self.config = config
        self.paths = config.paths
        self.clock = clock or SystemClock()
        self.ids = ids or UlidGen()
        self.events = events or MemoryEventBus()
        self.parent_env = dict(os.environ) if parent_env is None else parent_env
        backend, root = config.secrets_backend, self.paths.root
        self.secrets: SecretStore = secrets or LazyStore(lambda: open_store(root, backend))
        self.signals = RunSignals()
        self.log: Any = None
        self.store: Store
        self.lifecycle: Lifecycle
        self.dispatcher: Dispatcher
        self.sessions: SessionService
        self.notify: NotifyService | None = None
        self.server: RpcServer | None = None
        self.tracing: Tracing | None = None
        self.daemon_id = ""
        self._lock = InstanceLock(self.paths.lock)
        self._stop = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._token_digest = ""

    def request_stop(self) -> None:
        self._stop.set()

    async def start(self) -> None:
        await self.open()
        await self.serve()

    async def open(self) -> None:
        """Everything but the socket and the loops: enough for in-process tests."""
        if len(str(self.paths.socket).encode()) > MAX_SOCKET_PATH:
            raise ValueError(
                f"socket path {self.paths.socket} is longer than unix sockets allow "
                f"({MAX_SOCKET_PATH} bytes); set AINB_HANGAR_HOME to a shorter directory"
            )
        private_dir(self.paths.root)
        private_dir(self.paths.logs)
        self._lock.acquire()  # raises AlreadyRunning
        configure_logging(
            self.paths.logs, echo_stderr=self.config.echo_logs, level=self.config.log_level
        )
        self.log = get_logger("hangar.daemon")
        config = self.config
        self.store = store = await Store.open(config.database_url, clock=self.clock, ids=self.ids)
        self.daemon_id = self._daemon_id()
        await self.events.start()
        self.lifecycle = Lifecycle(store, self.events, self.signals, clock=self.clock, log=self.log)
        self.scheduler = Scheduler(store, self.lifecycle, clock=self.clock, log=self.log)
        #: the bd mirror (docs/beads.md): off until configured; told of every issue write
        self.beads = BeadsSync(
            store=store,
            lifecycle=self.lifecycle,
            settings=BeadsSettings(self.paths.config, self.parent_env),
            parent_env=self.parent_env,
            clock=self.clock,
            log=self.log,
        )
        self.lifecycle.watch_issues(self.beads.issue_written)
        # off unless OTEL_EXPORTER_OTLP_ENDPOINT is set and the otel extra installed
        self.tracing = configure_tracing(self.parent_env, self.log)
        if self.tracing is not None:
            self.tracing.instrument(store, "store")
            self.tracing.instrument(self.lifecycle, "lifecycle")
        #: notifications (docs/notifications.md): a tap on every workspace's events, one
        #: worker per channel; started before boot recovery so what it announces is told
        try:
            notify_settings = NotifySettings.from_env(self.parent_env)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.notify = NotifyService(
            store=store,
            events=self.events,
            secrets=self.secrets,
            env=self.parent_env,
            clock=self.clock,
            settings=notify_settings,
            log=self.log,
        )
        await self.notify.start()
        await self._ensure_token()
        #: who a connection is and what it may call: the socket token, personal tokens
        self.gate = TokenGate(store, self.clock, lambda: self._token_digest, log=self.log)
        await sweeper.recover(self.lifecycle, store, self.paths, self.daemon_id, self.log)
        #: every agent's environment: the allowlist as the file says now, the stored keys
        self.environment = AgentEnvironment(
            parent_env=self.parent_env,
            policy=config.env_policy,
            allow_file=self.paths.root / ALLOW_FILE,
            secrets=self.secrets,
            log=self.log,
        )
        self.sessions = SessionService(
            store=store,
            clock=self.clock,
            log=self.log,
            parent_env=self.parent_env,
            environment=self.environment,
            tmux=Tmux(SubprocessExecutor(), socket_name=config.tmux_socket),
            prefix=config.session_prefix,
            launch_probe_s=config.launch_probe_s,
            events=self.events,
        )
        await self.sessions.reconcile()
        await store.runtimes_heartbeat(self.daemon_id)
        deps = RunnerDeps(
            lifecycle=self.lifecycle,
            store=store,
            events=self.events,
            rows=RowCache(store),
            paths=self.paths,
            environment=self.environment,
            log=self.log,
            settings=RunSettings(
                default_inactivity_ms=config.inactivity_ms,
                default_max_runtime_ms=config.max_runtime_ms,
                kill_grace_s=config.kill_grace_s,
                keep_worktrees=config.keep_worktrees,
            ),
        )

        async def runtime_ids() -> list[str]:
            return [r.id for r in await store.runtimes_for_daemon(self.daemon_id)]

        self.dispatcher = Dispatcher(
            claim=self.lifecycle.claim,
            runtime_ids=runtime_ids,
            new_run=lambda task: TaskRunner(deps, task),
            signals=self.signals,
            slots=config.slots,
            log=self.log,
            kill_grace_s=config.kill_grace_s,
            cancel_requested=store.task_cancel_requested,
        )

    def routes(self) -> Routes:
        store, lifecycle, notify = self.store, self.lifecycle, self.notify
        assert notify is not None, "open() first"
        load = Load(
            connections=lambda: len(self.server.connections) if self.server else 0,
            slots_total=lambda: self.dispatcher.slots,
            slots_used=lambda: self.dispatcher.slots_used,
        )
        agents = AgentRoutes(
            store,
            daemon_id=self.daemon_id,
            parent_env=self.parent_env,
            runtimes_changed=self.dispatcher.refresh_runtimes,
        )
        table = merged(
            WorkspaceRoutes(store, self.events, self.request_stop).routes(),
            IssueRoutes(store, lifecycle).routes(),
            CommentRoutes(store, lifecycle).routes(),
            agents.routes(),
            SkillRoutes(store, self.events, agents, toolkit_dir=SKILLS_DIR, log=self.log).routes(),
            TaskRoutes(store, lifecycle).routes(),
            AutopilotRoutes(store, lifecycle, clock=self.clock, wake=self.scheduler.wake).routes(),
            SessionRoutes(store, self.sessions).routes(),
            SettingsRoutes(
                self.config,
                env=self.parent_env,
                environment=self.environment,
                secrets=self.secrets,
                log=self.log,
            ).routes(),
            TokenRoutes(store, self.gate, self.clock).routes(),
            BeadsRoutes(store, self.beads).routes(),
            NotifyRoutes(notify).routes(),
            HealthRoutes(
                store,
                socket_path=self.paths.socket,
                daemon_id=self.daemon_id,
                clock=self.clock,
                throughput=lifecycle.throughput,
                load=load,
            ).routes(),
        )
        return table if self.tracing is None else self.tracing.routes(table)

    async def serve(self) -> None:
        """The socket and the loops."""
        self.server = RpcServer(self.paths.socket, self.routes(), self.gate, self.log)
        self.gate.on_revoked(self.server.hang_up_token)
        await self.server.start()
        write_private(self.paths.pid, f"{os.getpid()}\n")
        self._loops = [
            asyncio.create_task(self.dispatcher.run(), name="claim-loop"),
            asyncio.create_task(
                sweeper.sweep_loop(self.lifecycle, self.log, self.config.sweep_interval_s),
                name="sweeper",
            ),
            asyncio.create_task(
                sweeper.heartbeat_loop(self.store, self.daemon_id, self.log), name="heartbeat"
            ),
            asyncio.create_task(self.sessions.watch(), name="session-watch"),
            asyncio.create_task(self.dispatcher.watch_cancels(), name="cancel-watch"),
            asyncio.create_task(self.scheduler.run(), name="autopilot-scheduler"),
            asyncio.create_task(self.beads.poll_loop(), name="beads-poll"),
        ]
        self.log.info(
            "daemon started",
            pid=os.getpid(),
            socket=str(self.paths.socket),
            database=self.store.dialect,
            daemon_id=self.daemon_id,
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
        await self.beads.close()
        if self.notify is not None:  # its workers and any command they still run
            await self.notify.stop()
        with contextlib.suppress(Exception):
            await self.store.runtimes_mark_offline(self.daemon_id)
        await self.events.stop()
        await self.store.close()
        if self.tracing is not None:  # flush the last spans
            await asyncio.to_thread(self.tracing.shutdown)
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
        write_private(path, value + "\n")
        return value

    async def _ensure_token(self) -> None:
        """Keep the token file when it matches the stored digest; otherwise mint a new one.
        Only the digest is stored; the plaintext lives in the 0600 file alone."""
        stored = await self.store.socket_token_digest()
        try:
            plaintext = self.paths.token.read_text().strip()
        except FileNotFoundError:
            plaintext = ""
        if plaintext and stored and tokens.verify(plaintext, stored):
            self._token_digest = stored
            return
        plaintext = tokens.mint_token(tokens.DAEMON_PREFIX)
        digest = tokens.digest(plaintext)
        await self.store.socket_token_set(digest)
        write_private(self.paths.token, plaintext + "\n")
        self._token_digest = digest
