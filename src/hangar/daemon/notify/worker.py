"""One channel's worker: a bounded queue, the coalescing window, delivery with retries, and
the delivery history (docs/notifications.md).

``offer`` is synchronous and never waits: a full queue drops its oldest notice (logged, and
recorded as a ``dropped`` delivery). The worker's task takes notices in order, lets the
coalescer decide what goes out now, sends, and records each outcome. A failure is logged
and recorded, never raised: nothing here reaches the lifecycle.

A notice is offered *pending*: its words (names read from the store) are built only when it
is sent. An event a burst absorbs is only counted, so a storm of fifty failures costs one
lookup for the first, and one for the latest when the summary goes out.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from hangar.adapters.notifiers import Outcome
from hangar.core import notices as nt
from hangar.core import notify as n
from hangar.core.coalesce import Coalescer
from hangar.daemon.notify.settings import NotifySettings
from hangar.proto.notify import NotifyDeliveryRow
from hangar.store import Store

__all__ = ["ChannelWorker", "Pending", "Ready", "Send"]

#: sends one body through a channel: (channel, notice, body, delivery id) → outcome
Send = Callable[[n.Channel, nt.Notice, bytes, str], Awaitable[Outcome]]


class Pending(Protocol):
    """A notice whose words are built when it is sent (``None``: it could not be)."""

    @property
    def kind(self) -> str: ...

    @property
    def workspace_id(self) -> str: ...

    async def notice(self) -> nt.Notice | None: ...


@dataclass(frozen=True)
class Ready:
    """A notice built already (a test notice, a summary)."""

    built: nt.Notice

    @property
    def kind(self) -> str:
        return self.built.kind

    @property
    def workspace_id(self) -> str:
        return self.built.facts.workspace_id

    async def notice(self) -> nt.Notice:
        return self.built


class ChannelWorker:
    def __init__(
        self,
        channel: n.Channel,
        *,
        send: Send,
        store: Store,
        settings: NotifySettings,
        log: Any,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.channel = channel
        self._send = send
        self._store = store
        self._settings = settings
        self._log = log
        self._monotonic = monotonic
        self._queue: deque[Pending] = deque()
        self._dropped: list[str] = []
        self._wake = asyncio.Event()
        self._coalescer: Coalescer[Pending] = Coalescer(int(settings.window_s * 1000))
        self._noted: set[object] = set()
        self._task: asyncio.Task[None] | None = None
        self.busy = False

    # -- the producer side: never waits ---------------------------------------------------

    def offer(self, notice: nt.Notice | Pending) -> None:
        if isinstance(notice, nt.Notice):
            notice = Ready(notice)
        if len(self._queue) >= self._settings.queue_limit:
            old = self._queue.popleft()
            self._dropped.append(old.kind)
            self._log.warning(
                "notification dropped: the channel's queue is full",
                channel=self.channel.id,
                kind=old.kind,
                limit=self._settings.queue_limit,
            )
        self._queue.append(notice)
        self._wake.set()

    def pending(self) -> int:
        return len(self._queue) + self._coalescer.pending()

    # -- the task ------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"notify-{self.channel.id}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _now_ms(self) -> int:
        return int(self._monotonic() * 1000)

    async def _run(self) -> None:
        while True:
            due = self._coalescer.next_due()
            timeout = None if due is None else max(0.0, (due - self._now_ms()) / 1000)
            # asyncio.timeout, not wait_for: on 3.11 a wait_for whose event is set as the
            # task is cancelled returns instead of raising, and the stop is lost for good
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._round()
            except Exception:  # a bug here must not end the channel
                self._log.exception("notification worker failed", channel=self.channel.id)

    async def _round(self) -> None:
        self.busy = True
        try:
            while self._dropped:
                await self._record(self._dropped.pop(0), "dropped", 0, "the queue was full")
            for _key, count, last in self._coalescer.due(self._now_ms()):
                built = await last.notice()
                if built is not None:
                    await self.deliver(nt.summary_of(built, count, self._settings.window_s))
            while self._queue:
                pending = self._queue.popleft()
                key = (pending.kind, pending.workspace_id)
                if self._coalescer.offer(key, pending, self._now_ms()):
                    self._noted.discard(key)
                    built = await pending.notice()
                    if built is not None:
                        await self.deliver(built)
                elif key not in self._noted:  # said once per window, not per event
                    self._noted.add(key)
                    await self._record(
                        pending.kind,
                        "coalesced",
                        0,
                        "counted into a summary sent when the window closes",
                    )
        finally:
            self.busy = False

    # -- one delivery --------------------------------------------------------------------

    async def deliver(self, notice: nt.Notice) -> NotifyDeliveryRow | None:
        """Send ``notice`` now (webhooks: with retries), and record what happened."""
        delivery_id = self._store.notify.new_id()
        body = nt.payload(notice, delivery_id)
        policy = self._settings.retry
        waits = policy.delays() if self.channel.kind == "webhook" else []
        attempts = 0
        outcome = Outcome(False, error="not sent")
        while True:
            attempts += 1
            try:
                outcome = await self._send(self.channel, notice, body, delivery_id)
            except Exception as exc:  # a sender must not raise, but never trust that
                outcome = Outcome(False, error=f"{type(exc).__name__}: {exc}")
            if outcome.ok or not waits or not policy.retryable(outcome.status):
                break
            await asyncio.sleep(waits.pop(0))
        status = "delivered" if outcome.ok else "failed"
        if not outcome.ok:
            self._log.warning(
                "notification given up",
                channel=self.channel.id,
                channel_kind=self.channel.kind,
                kind=notice.kind,
                attempts=attempts,
                error=outcome.error,
            )
        return await self._record(notice.kind, status, attempts, outcome.error, delivery_id)

    async def _record(
        self,
        kind: str,
        status: str,
        attempts: int,
        error: str | None,
        delivery_id: str | None = None,
    ) -> NotifyDeliveryRow | None:
        try:
            return await self._store.notify.record(
                self.channel.id,
                kind=kind,
                status=status,
                attempts=attempts,
                error=error,
                delivery_id=delivery_id,
            )
        except Exception as exc:  # the history is a convenience: never fail a send for it
            self._log.warning(
                "notification history not written", channel=self.channel.id, error=str(exc)
            )
            return None
