"""Fakes and an in-process daemon for tests: a fixed clock, sequential ids, a recording
executor, the memory event bus, an in-memory secret store, and a daemon wired on a
temporary SQLite database whose routes, lifecycle, dispatcher and runners a test drives
directly, with no socket and no subprocess daemon in between."""

from hangar.adapters.secrets import MemoryStore as MemorySecretStore
from hangar.core.clock import FixedClock
from hangar.core.ids import SequentialIdGen
from hangar.daemon.events import MemoryEventBus
from hangar.testing.daemon import (
    EventLog,
    FakeConnection,
    InProcessDaemon,
    daemon_in_process,
    wait_for,
)

__all__ = [
    "EventLog",
    "FakeConnection",
    "FixedClock",
    "InProcessDaemon",
    "MemoryEventBus",
    "MemorySecretStore",
    "SequentialIdGen",
    "daemon_in_process",
    "wait_for",
]
