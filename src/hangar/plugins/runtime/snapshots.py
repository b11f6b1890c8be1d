"""The event bus as plugins see it: their publishes, gets and subscriptions, and the
``plugin/handle_event`` frames that carry a snapshot to them.

A payload over ``CHUNK_SIZE`` travels in chunks, both ways. Its chunks are sliced once per
(topic, version) and kept, under a byte cap, for the gets and deliveries that follow.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable

from hangar.plugins import protocol as p
from hangar.plugins.runtime.bus import Snapshot, SnapshotBus
from hangar.plugins.runtime.logsink import BudgetedLog
from hangar.plugins.runtime.policy import PluginState
from hangar.plugins.runtime.supervisor import Supervisor
from hangar.proto.jsonrpc import INVALID_PARAMS, RpcError, encode_notification

__all__ = ["CHUNK_CACHE_BYTES", "AwaitProvider", "SnapshotService"]

#: Bytes of chunk lists kept for ``host/snapshot/get`` (the newest is always kept).
CHUNK_CACHE_BYTES = 64 * 1024 * 1024

#: (topic, asking plugin) → start the topic's other providers and wait for a first publish.
AwaitProvider = Callable[[str, str], Awaitable[Snapshot | None]]


class SnapshotService:
    def __init__(self, bus: SnapshotBus, log: BudgetedLog, await_provider: AwaitProvider) -> None:
        self.bus = bus
        self._log = log
        self._await_provider = await_provider
        # topic -> (version, chunks): big gets fetch chunk by chunk; slice the payload once
        self._chunk_cache: OrderedDict[str, tuple[int, list[p.Chunk]]] = OrderedDict()

    # -- plugin → host ---------------------------------------------------------------------

    def publish(self, sup: Supervisor, pub: p.SnapshotPublishParams) -> None:
        """``host/snapshot/publish`` (the gate has checked the topic); a drop is logged."""
        dropped = self.bus.dropped
        if pub.chunk is not None:
            self.bus.publish_chunk(pub.topic, pub.chunk, sup.id)
        else:
            self.bus.publish(pub.topic, pub.payload, sup.id)
        if self.bus.dropped != dropped:
            msg = f"publish on {pub.topic!r} dropped (over the bus's size, topic or byte limits)"
            self._log.write(sup.id, "warn", "plugin.publish_dropped", msg)

    async def get(self, sup: Supervisor, q: p.SnapshotGetParams) -> p.SnapshotGetResult:
        """``host/snapshot/get``: the latest payload, whole or the chunk asked for. With none
        yet, a first get starts the topic's providers and waits for their publish."""
        snap = self.bus.latest(q.topic)
        if snap is None and q.chunk_index == 0:
            snap = await self._await_provider(q.topic, sup.id)
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

    def subscribe(self, sup: Supervisor, topic: str) -> None:
        """``host/snapshot/subscribe``: later publishes reach ``sup``, the latest one now."""
        self.bus.subscribe(topic, sup.id)
        self._catch_up(sup, topic)

    # -- host → plugin -----------------------------------------------------------------------

    def catch_up(self, sup: Supervisor) -> None:
        """A (re)started plugin gets the latest of each topic its manifest subscribes to."""
        for topic in sup.spec.manifest.subscribes.snapshots:
            self._catch_up(sup, topic)

    def _catch_up(self, sup: Supervisor, topic: str) -> None:
        snap = self.bus.latest(topic)
        if snap is not None and sup.conn is not None and snap.source != sup.id:
            sup.conn.post_event(topic, self.event_bodies(snap))

    def deliver(self, snap: Snapshot, sups: Iterable[Supervisor]) -> None:
        """A new snapshot to every running plugin that wants its topic (not its publisher)."""
        stale = self._chunk_cache.get(snap.topic)
        if stale is not None and stale[0] != snap.version:
            del self._chunk_cache[snap.topic]  # the old version's slices are dead weight now
        bodies: list[bytes] | None = None
        subscribed = self.bus.subscribers(snap.topic)
        for sup in sups:
            conn = sup.conn
            if conn is None or sup.id == snap.source or sup.state is not PluginState.RUNNING:
                continue
            wanted = snap.topic in sup.spec.manifest.subscribes.snapshots
            if wanted or sup.id in subscribed:
                bodies = bodies or self.event_bodies(snap)
                conn.post_event(snap.topic, bodies)

    def event_bodies(self, snap: Snapshot) -> list[bytes]:
        """The ``plugin/handle_event`` frames for one snapshot (several when chunked)."""
        if len(snap.payload) <= p.CHUNK_SIZE:
            params = p.HandleEventParams(snap.topic, snap.payload)
            return [encode_notification(p.HANDLE_EVENT, params)]
        return [
            encode_notification(p.HANDLE_EVENT, p.HandleEventParams(snap.topic, chunk=c))
            for c in self._chunks(snap)
        ]

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
        while cached > CHUNK_CACHE_BYTES and len(self._chunk_cache) > 1:
            _, (_, old) = self._chunk_cache.popitem(last=False)
            cached -= sum(len(c.data) for c in old)
        return chunks
