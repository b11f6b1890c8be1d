"""A daemon wired in-process: every service real (store on a temporary SQLite, lifecycle,
dispatcher, runners, sessions), the clock and ids injected, the socket and the background
loops left out so a test decides when claims, sweeps and runs happen — or, with
``serve=True``, the real socket and loops too, for clients that dial it (the TUI's tests)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from hangar.adapters.secrets import MemoryStore, SecretStore
from hangar.core.clock import Clock, FixedClock
from hangar.core.ids import IdGen, SequentialIdGen
from hangar.daemon.app import Daemon
from hangar.daemon.config import DaemonConfig
from hangar.daemon.events import EventBus, MemoryEventBus, Subscription
from hangar.proto.events import AnyEvent, decode_event
from hangar.proto.routes import RouteTable

__all__ = ["EventLog", "FakeConnection", "InProcessDaemon", "daemon_in_process", "wait_for"]


@dataclass
class FakeConnection:
    """Stands in for a socket connection: holds what ``workspace/subscribe`` attaches."""

    subscription: Subscription | None = None
    closed: bool = False

    async def attach_subscription(self, sub: Subscription) -> None:
        if self.subscription is not None:
            await self.subscription.close()
        self.subscription = sub


@dataclass
class EventLog:
    """Every event a subscription has received so far, decoded."""

    sub: Subscription
    seen: list[AnyEvent] = field(default_factory=list)

    def drain(self) -> list[AnyEvent]:
        self.seen.extend(decode_event(payload) for payload in self.sub.take_all())
        return self.seen

    def names(self) -> list[str]:
        return [type(e).__name__ for e in self.drain()]


class InProcessDaemon:
    def __init__(self, daemon: Daemon, clock: Clock) -> None:
        self.daemon = daemon
        self.clock = clock
        self.store = daemon.store
        self.lifecycle = daemon.lifecycle
        self.dispatcher = daemon.dispatcher
        self.scheduler = daemon.scheduler
        self.events = daemon.events
        #: notification channels' service: ``pending()`` says when all is sent
        self.notify = daemon.notify
        self.routes: RouteTable[Any] = daemon.routes()
        self.conn = FakeConnection()

    async def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """One RPC through the real route table (params as a client would send them); the
        result as the client would decode it (plain dicts and lists)."""
        result = await self.routes.dispatch(self.conn, method, dict(params or {}))
        return msgspec.to_builtins(result)

    async def subscribe(self, workspace: str | None = None) -> EventLog:
        """Subscribe this daemon's connection (to the default workspace unless named)."""
        params = {} if workspace is None else {"workspace_id": workspace}
        await self.call("workspace/subscribe", params)
        assert self.conn.subscription is not None
        return EventLog(self.conn.subscription)

    async def dispatch(self, timeout: float = 30.0) -> None:
        """Claim what can be claimed now, and wait until those runs have finalized."""
        await self.dispatcher.refresh_runtimes()
        await self.dispatcher.fill_slots()
        await self.dispatcher.drain(timeout)


@asynccontextmanager
async def daemon_in_process(
    home: Path,
    *,
    env: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    ids: IdGen | None = None,
    events: EventBus | None = None,
    serve: bool = False,
    secrets: SecretStore | None = None,
) -> AsyncIterator[InProcessDaemon]:
    """An opened daemon rooted at ``home`` (SQLite there unless ``env`` names a database).
    ``env`` is both the configuration and the agents' parent environment. ``serve`` also
    listens on the home's socket and runs the loops, in this event loop. ``secrets``: the
    agents' API keys (default: an empty ``MemoryStore``, never the machine's keychain)."""
    settings = {"AINB_HANGAR_HOME": str(home), "HANGAR_TMUX_SOCKET": f"hangar-test-{home.name}"}
    settings |= dict(env or {})
    config = DaemonConfig.from_env(settings)
    clock = clock or FixedClock()
    daemon = Daemon(
        config,
        clock=clock,
        ids=ids or SequentialIdGen(),
        events=events or MemoryEventBus(),
        parent_env={"PATH": os.environ.get("PATH", os.defpath), **settings},
        secrets=MemoryStore() if secrets is None else secrets,
    )
    await daemon.open()
    try:
        if serve:
            await daemon.serve()
        yield InProcessDaemon(daemon, clock)
    finally:
        await daemon.stop()


async def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.01) -> Any:
    """Poll an (async or plain) predicate until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
