"""The notify service: the channels, the tap on every workspace's events, and one worker per
channel (docs/notifications.md).

The tap runs inside ``EventBus.publish``: it classifies the event and queues it, nothing
more (no IO, no await). The service's own task then reads names from the store, builds the
notice once, and offers it to each channel that asked for its kind. The lifecycle never
waits for a notification and never sees one fail.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Mapping
from typing import Any

from hangar.adapters.notifiers import (
    DesktopNotifier,
    Outcome,
    WebhookSender,
    command_env,
    run_command,
)
from hangar.adapters.secrets import SecretStore
from hangar.core import notices as nt
from hangar.core import notify as n
from hangar.core.clock import Clock
from hangar.daemon.events import EventBus
from hangar.daemon.notify.facts import Enricher, PendingNotice, kind_of
from hangar.daemon.notify.settings import NotifySettings
from hangar.daemon.notify.worker import ChannelWorker
from hangar.proto.events import AutopilotChanged, Event
from hangar.proto.notify import NotifyDeliveryRow
from hangar.store import Store

__all__ = ["SECRET_SCOPE", "NotifyService"]

#: the secret store's scope for webhook secrets (name: ``webhook-<channel id>``)
SECRET_SCOPE = "notify"
#: events waiting for their names to be read, across all channels
INBOX_LIMIT = 1_000


class NotifyService:
    def __init__(
        self,
        *,
        store: Store,
        events: EventBus,
        secrets: SecretStore,
        env: Mapping[str, str],
        clock: Clock,
        settings: NotifySettings,
        log: Any,
    ) -> None:
        self.store = store
        self.events = events
        self.secrets = secrets
        self.env = env
        self.clock = clock
        self.settings = settings
        self.log = log
        self.desktop = DesktopNotifier(env, timeout_s=settings.timeout_s)
        self._webhooks: WebhookSender | None = None
        self._enricher = Enricher(store, log)
        self._workers: dict[str, ChannelWorker] = {}
        self._inbox: deque[tuple[str, str, Event, int]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._paused: dict[str, str] = {}
        self._said_no_desktop = False

    # -- start and stop ------------------------------------------------------------------

    async def start(self) -> None:
        for channel in await self.store.notify.channels():
            self._add_worker(channel)
        self._task = asyncio.create_task(self._run(), name="notify")

    def _listen(self) -> None:
        """Tapped while there is a channel: with none, publishers may skip building events
        nobody reads (``EventBus.has_subscribers``)."""
        self.events.untap(self._tap)
        if self._workers:
            self.events.tap(self._tap)

    async def stop(self) -> None:
        self.events.untap(self._tap)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            await worker.stop()
        if self._webhooks is not None:
            await self._webhooks.close()
            self._webhooks = None

    def _add_worker(self, channel: n.Channel) -> ChannelWorker:
        worker = ChannelWorker(
            channel, send=self._deliver, store=self.store, settings=self.settings, log=self.log
        )
        self._workers[channel.id] = worker
        worker.start()
        self._listen()
        if channel.kind == "desktop":
            self._note_desktop()
        return worker

    def _note_desktop(self) -> None:
        why = self.desktop.unavailable()
        if why is not None and not self._said_no_desktop:
            self._said_no_desktop = True
            self.log.warning("desktop notifications " + why)

    # -- the tap: inside the publisher's call --------------------------------------------

    def _tap(self, workspace_id: str, event: Event) -> None:
        kind = kind_of(event)
        if isinstance(event, AutopilotChanged) and not self._first_pause(event, kind):
            return
        if kind is None:
            return
        if not any(w.channel.wants(kind) for w in self._workers.values()):
            return
        if len(self._inbox) >= INBOX_LIMIT:
            _, dropped, _, _ = self._inbox.popleft()
            self.log.warning("notification dropped: too many waiting", kind=dropped)
        self._inbox.append((workspace_id, kind, event, self.clock.now_ms()))
        self._wake.set()

    def _first_pause(self, event: AutopilotChanged, kind: str | None) -> bool:
        """An autopilot's pause is told once, however often its row is announced again;
        once it runs again (or is deleted), a new pause is told."""
        row = event.autopilot
        if kind != n.AUTOPILOT_PAUSED:
            self._paused.pop(row.id, None)
            return True
        reason = row.disabled_reason or ""
        if self._paused.get(row.id) == reason:
            return False
        self._paused[row.id] = reason
        return True

    def pending(self) -> int:
        """Events and notices not yet sent (for tests and health)."""
        busy = sum(1 for w in self._workers.values() if w.busy)
        return len(self._inbox) + busy + sum(w.pending() for w in self._workers.values())

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._inbox:
                workspace_id, kind, event, at = self._inbox.popleft()
                # built when a channel sends it (daemon/notify/worker.py), once for all
                notice = PendingNotice(self._enricher, kind, workspace_id, event, at)
                for worker in list(self._workers.values()):
                    if worker.channel.wants(kind):
                        worker.offer(notice)

    # -- sending -------------------------------------------------------------------------

    async def _deliver(
        self, channel: n.Channel, notice: nt.Notice, body: bytes, delivery_id: str
    ) -> Outcome:
        if channel.kind == "desktop":
            return await self.desktop.send(notice.title, f"{notice.text}\n{notice.look}")
        if channel.kind == "command":
            env = command_env(
                self.env,
                {"HANGAR_NOTIFY_EVENT": notice.kind, "HANGAR_NOTIFY_DELIVERY": delivery_id},
            )
            return await run_command(
                channel.argv, stdin=body, env=env, timeout_s=self.settings.timeout_s
            )
        secret = await self._secret(channel)
        if self._webhooks is None:
            self._webhooks = WebhookSender(timeout_s=self.settings.timeout_s)
        return await self._webhooks.post(
            channel.target,
            body,
            delivery_id=delivery_id,
            event=notice.kind,
            signature=None if secret is None else n.sign(secret, body),
        )

    async def _secret(self, channel: n.Channel) -> str | None:
        if channel.secret_ref is None:
            return None
        return await asyncio.to_thread(self.secrets.get, channel.secret_ref, scope=SECRET_SCOPE)

    # -- what the RPC asks ---------------------------------------------------------------

    def channels(self) -> list[n.Channel]:
        return [w.channel for w in self._workers.values()]

    def unavailable(self, channel: n.Channel) -> str | None:
        return self.desktop.unavailable() if channel.kind == "desktop" else None

    async def add(
        self,
        *,
        kind: str,
        events: tuple[str, ...],
        url: str | None = None,
        argv: list[str] | None = None,
        secret: str | None = None,
    ) -> n.Channel:
        """A checked channel, stored; its secret first into the secret store (undone if
        the row cannot be written: nothing half-made stays)."""
        channel_id = self.store.notify.new_id()
        ref = None
        if secret is not None:
            ref = f"webhook-{channel_id}"
            await asyncio.to_thread(self.secrets.set, ref, secret, scope=SECRET_SCOPE)
        try:
            channel = await self.store.notify.add(
                kind=kind,
                events=events,
                target=url or "",
                argv=argv or (),
                secret_ref=ref,
                channel_id=channel_id,
            )
        except BaseException:
            if ref is not None:
                await asyncio.to_thread(self.secrets.delete, ref, scope=SECRET_SCOPE)
            raise
        self._add_worker(channel)
        self.log.info("notification channel added", channel=channel.id, channel_kind=kind)
        return channel

    async def remove(self, channel_id: str) -> n.Channel:
        channel = await self.store.notify.remove(channel_id)  # NotFound when there is none
        worker = self._workers.pop(channel_id, None)
        self._listen()
        if worker is not None:
            await worker.stop()
        if channel.secret_ref is not None:
            try:
                await asyncio.to_thread(self.secrets.delete, channel.secret_ref, scope=SECRET_SCOPE)
            except Exception as exc:
                self.log.warning("webhook secret not deleted", channel=channel_id, error=str(exc))
        self.log.info("notification channel removed", channel=channel_id)
        return channel

    async def test(self, channel_id: str) -> NotifyDeliveryRow | None:
        """A test notice through the channel's real path, now; what it met."""
        worker = self._workers.get(channel_id)
        if worker is None:
            return None
        facts = nt.Facts(kind=n.TEST, workspace_id="", at=self.clock.now_ms())
        return await worker.deliver(nt.notice_of(facts))
