"""The event port: publish a workspace's events, subscribe to get them as a stream.

``EventBus`` is the port every publisher and subscriber sees; ``MemoryEventBus`` delivers
within this process. A backend that crosses hosts (PostgreSQL LISTEN/NOTIFY) implements
the same four calls, so publishers (the lifecycle, the runner) and subscribers (the RPC
connections) do not change when it arrives.

Delivery is best effort by design: a subscriber that falls ``QUEUE_LIMIT`` events behind
loses events, counted in ``dropped``, and heals on its next snapshot
(docs/wire-protocol.md#events).
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable

from hangar.proto.events import Event, encode_event

__all__ = ["QUEUE_LIMIT", "EventBus", "MemoryEventBus", "Subscription", "Tap"]

#: a listener on every workspace's events, told in the publisher's call (``EventBus.tap``)
Tap = Callable[[str, Event], None]

_log = logging.getLogger(__name__)

QUEUE_LIMIT = 10_000


class Subscription:
    """One subscriber's stream of encoded events of one workspace."""

    def __init__(self, bus: EventBus, workspace_id: str) -> None:
        self.workspace_id = workspace_id
        self.dropped = 0
        self._bus = bus
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_LIMIT)

    def offer(self, payload: bytes) -> None:
        """Queue one event; a full queue drops it (the subscriber is too slow)."""
        try:
            self._queue.put_nowait(payload)
        except asyncio.QueueFull:
            self.dropped += 1

    async def next(self) -> bytes:
        return await self._queue.get()

    async def stream(self) -> AsyncIterator[bytes]:
        while True:
            yield await self._queue.get()

    def pending(self) -> int:
        return self._queue.qsize()

    def take_all(self) -> list[bytes]:
        """Whatever is queued now, without waiting."""
        taken = []
        while not self._queue.empty():
            taken.append(self._queue.get_nowait())
        return taken

    async def close(self) -> None:
        await self._bus.unsubscribe(self)


class EventBus(abc.ABC):
    """The port. Events are encoded once per publish, whatever the number of subscribers.

    A *tap* sees every workspace's events as objects, in the publisher's own call: the
    daemon's notifications listen this way. A tap must not block or do IO (it queues); an
    exception it raises is logged, never the publisher's."""

    def __init__(self) -> None:
        self._taps: tuple[Tap, ...] = ()

    def tap(self, listener: Tap) -> None:
        self._taps = (*self._taps, listener)

    def untap(self, listener: Tap) -> None:
        # ``!=``, not ``is not``: a bound method is a new object at each access, equal to
        # the one tapped when it is the same method of the same object
        self._taps = tuple(t for t in self._taps if t != listener)

    def tell_taps(self, workspace_id: str, event: Event) -> None:
        """Backends call this from ``publish`` for each event published on this host."""
        for listener in self._taps:
            try:
                listener(workspace_id, event)
            except Exception:
                _log.exception("event tap failed")

    def tapped(self) -> bool:
        return bool(self._taps)

    async def start(self) -> None:  # noqa: B027 - a backend with a connection opens it here
        """Open what the backend needs (a listening connection, say)."""

    async def stop(self) -> None:  # noqa: B027
        """Release it."""

    @abc.abstractmethod
    async def publish(self, workspace_id: str, event: Event) -> None:
        """Hand ``event`` to every subscriber of ``workspace_id``; never waits for them."""

    @abc.abstractmethod
    async def subscribe(self, workspace_id: str) -> Subscription: ...

    @abc.abstractmethod
    async def unsubscribe(self, sub: Subscription) -> None: ...

    @abc.abstractmethod
    def has_subscribers(self, workspace_id: str) -> bool:
        """Lets a publisher skip building an event nobody will read."""


class MemoryEventBus(EventBus):
    """Fan-out inside one process: the default, and the tests' bus."""

    def __init__(self) -> None:
        super().__init__()
        self._subs: dict[str, set[Subscription]] = defaultdict(set)

    async def publish(self, workspace_id: str, event: Event) -> None:
        self.tell_taps(workspace_id, event)
        subs = self._subs.get(workspace_id)
        if not subs:
            return
        payload = encode_event(event)
        for sub in subs:
            sub.offer(payload)

    async def subscribe(self, workspace_id: str) -> Subscription:
        sub = Subscription(self, workspace_id)
        self._subs[workspace_id].add(sub)
        return sub

    async def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.workspace_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.workspace_id]

    def has_subscribers(self, workspace_id: str) -> bool:
        return self.tapped() or bool(self._subs.get(workspace_id))
