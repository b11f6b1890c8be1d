"""The event bus: the latest snapshot per topic, who wants which topic, and first-publish waits.

Only the latest payload per topic is kept, and the number of topics, the size of
a payload and the bytes held (in all, and per publisher: ``BusLimits``) are capped, so a
publisher cannot make the host hoard memory. Chunked publishes are reassembled per
(publisher, topic), under the same kind of byte budget.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from hangar.plugins.protocol import Chunk, Reassembler

__all__ = ["DEFAULT_MAX_PAYLOAD", "BusLimits", "Snapshot", "SnapshotBus"]

DEFAULT_MAX_PAYLOAD = 128 * 1024 * 1024
MiB = 1024 * 1024


@dataclass(frozen=True)
class BusLimits:
    """Byte budgets. Item counts alone do not bound memory (1024 topics x 128 MiB)."""

    max_bytes: int = 256 * MiB
    """Latest payloads held, over every topic."""
    max_bytes_per_source: int = 64 * MiB
    """Latest payloads one publisher holds (the host's own publishes are exempt)."""
    partial_bytes: int = 256 * MiB
    """Half-received chunked payloads, over every publisher."""
    partial_bytes_per_source: int = 64 * MiB
    """Half-received chunked payloads of one publisher."""


@dataclass(frozen=True)
class Snapshot:
    topic: str
    payload: bytes
    version: int
    """Counts publishes on this topic in this host, from 1."""
    published_ns: int
    source: str
    """The publishing plugin's id, or ``host``."""


class SnapshotBus:
    def __init__(
        self,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        max_topics: int = 1024,
        limits: BusLimits | None = None,
    ) -> None:
        self.max_payload = max_payload
        self.max_topics = max_topics
        self.limits = limits or BusLimits()
        self._latest: dict[str, Snapshot] = {}
        self._held = 0
        self._held_by: dict[str, int] = {}
        self._subs: dict[str, set[str]] = {}
        self._waiters: dict[str, list[asyncio.Future[Snapshot]]] = {}
        self._chunks = Reassembler(
            max_payload,
            max_total=self.limits.partial_bytes,
            max_per_owner=self.limits.partial_bytes_per_source,
        )
        self._listeners: list[Callable[[Snapshot], None]] = []
        self.dropped = 0

    def latest(self, topic: str) -> Snapshot | None:
        return self._latest.get(topic)

    def topics(self) -> list[str]:
        return sorted(self._latest)

    def held(self, source: str | None = None) -> int:
        """Bytes of latest payloads held, in all or for one publisher."""
        return self._held if source is None else self._held_by.get(source, 0)

    def publish(self, topic: str, payload: bytes, source: str) -> Snapshot | None:
        """Replace the topic's snapshot and tell the listeners; None if over a cap."""
        previous = self._latest.get(topic)
        too_many = previous is None and len(self._latest) >= self.max_topics
        if len(payload) > self.max_payload or too_many or not self._fits(previous, payload, source):
            self.dropped += 1
            return None
        snap = Snapshot(
            topic=topic,
            payload=payload,
            version=1 if previous is None else previous.version + 1,
            published_ns=time.time_ns(),
            source=source,
        )
        if previous is not None:
            self._account(previous.source, -len(previous.payload))
        self._account(source, len(payload))
        self._latest[topic] = snap
        for fut in self._waiters.pop(topic, []):
            if not fut.done():
                fut.set_result(snap)
        for listener in list(self._listeners):
            listener(snap)
        return snap

    def publish_chunk(self, topic: str, chunk: Chunk, source: str) -> Snapshot | None:
        """Feed one slice; publishes when it completes a payload."""
        whole = self._chunks.feed((source, topic), chunk, owner=source)
        self.dropped = self._chunks.dropped
        return None if whole is None else self.publish(topic, whole, source)

    def _fits(self, previous: Snapshot | None, payload: bytes, source: str) -> bool:
        freed = 0 if previous is None else len(previous.payload)
        if self._held - freed + len(payload) > self.limits.max_bytes:
            return False
        if source == "host":
            return True
        mine = self._held_by.get(source, 0)
        if previous is not None and previous.source == source:
            mine -= freed
        return mine + len(payload) <= self.limits.max_bytes_per_source

    def _account(self, source: str, delta: int) -> None:
        self._held += delta
        left = self._held_by.get(source, 0) + delta
        if left > 0:
            self._held_by[source] = left
        else:
            self._held_by.pop(source, None)

    def forget_source(self, source: str) -> None:
        """Drop half-received payloads of a publisher that went away, and its subscriptions."""
        for key in [k for k in self._chunks.pending() if k[0] == source]:
            self._chunks.forget(key)
        for subs in self._subs.values():
            subs.discard(source)

    async def wait(self, topic: str, timeout: float) -> Snapshot | None:
        """The topic's snapshot, waiting up to ``timeout`` s for a first publish."""
        snap = self._latest.get(topic)
        if snap is not None:
            return snap
        fut: asyncio.Future[Snapshot] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(topic, []).append(fut)
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            return None
        finally:
            waiters = self._waiters.get(topic, [])
            if fut in waiters:
                waiters.remove(fut)

    def subscribe(self, topic: str, subscriber: str) -> None:
        self._subs.setdefault(topic, set()).add(subscriber)

    def subscribers(self, topic: str) -> set[str]:
        return set(self._subs.get(topic, ()))

    def add_listener(self, listener: Callable[[Snapshot], None]) -> Callable[[], None]:
        """Call ``listener`` on every publish (the TUI's hook); returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)
