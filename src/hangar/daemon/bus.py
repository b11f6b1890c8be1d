"""In-process event bus: per-workspace fan-out to subscribed connections.

Delivery is best-effort by design: a subscriber whose queue is full loses events, and the
next snapshot reconciles it (contract.md §3)."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from hangar.proto.events import Event, encode_event

QUEUE_LIMIT = 10_000


class Subscription:
    def __init__(self, bus: EventBus, workspace_id: str) -> None:
        self.workspace_id = workspace_id
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_LIMIT)
        self.dropped = 0
        self._bus = bus

    def close(self) -> None:
        self._bus._unsubscribe(self)


class EventBus:
    def __init__(self) -> None:
        self._subs: dict[str, set[Subscription]] = defaultdict(set)

    def subscribe(self, workspace_id: str) -> Subscription:
        sub = Subscription(self, workspace_id)
        self._subs[workspace_id].add(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        self._subs[sub.workspace_id].discard(sub)

    def publish(self, workspace_id: str, event: Event) -> None:
        subs = self._subs.get(workspace_id)
        if not subs:
            return
        payload = encode_event(event)
        for sub in subs:
            try:
                sub.queue.put_nowait(payload)
            except asyncio.QueueFull:
                sub.dropped += 1

    def has_subscribers(self, workspace_id: str) -> bool:
        return bool(self._subs.get(workspace_id))
