"""Notification channels: add, list (with their recent deliveries), remove, test
(docs/notifications.md). Adding, removing and testing need ``admin``; listing ``read``.

Every value is checked before anything is written (``core.notify``): a bad URL, an empty
command or an unknown event name is refused and nothing is stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hangar.adapters.secrets import SecretBackendLocked, SecretStoreError
from hangar.core import notify as n
from hangar.daemon.notify import NotifyService
from hangar.daemon.rpc.common import Routes, invalid, not_found, routes
from hangar.proto import api, calls
from hangar.proto import jsonrpc as rpc
from hangar.proto import notify as pn

if TYPE_CHECKING:
    from hangar.daemon.rpc.server import Connection

__all__ = ["NotifyRoutes"]

#: deliveries shown per channel by ``notify list``
RECENT = 5


class NotifyRoutes:
    def __init__(self, service: NotifyService) -> None:
        self.service = service

    def routes(self) -> Routes:
        return routes(
            (calls.NOTIFY_ADD, self.add),
            (calls.NOTIFY_LIST, self.list),
            (calls.NOTIFY_REMOVE, self.remove),
            (calls.NOTIFY_TEST, self.test),
        )

    async def _row(self, channel: n.Channel, *, recent: int = RECENT) -> pn.NotifyChannelRow:
        deliveries = await self.service.store.notify.recent(channel.id, limit=recent)
        return pn.NotifyChannelRow(
            id=channel.id,
            kind=channel.kind,
            target=channel.shown(),
            events=list(channel.events),
            signed=channel.secret_ref is not None,
            unavailable=self.service.unavailable(channel),
            created_at=channel.created_at,
            deliveries=deliveries,
        )

    async def add(self, conn: Connection, p: pn.NotifyAddParams) -> pn.NotifyChannelRow:
        try:
            events = n.parse_events(",".join(p.events) if p.events else None)
            url, argv = _target(p)
        except n.NotifyError as exc:
            raise invalid(str(exc)) from None
        try:
            channel = await self.service.add(
                kind=p.kind, events=events, url=url, argv=argv, secret=p.secret
            )
        except SecretBackendLocked as exc:
            raise rpc.RpcError(rpc.SECRET_BACKEND_LOCKED, str(exc)) from None
        except SecretStoreError as exc:
            raise rpc.RpcError(rpc.INTERNAL_ERROR, str(exc)) from None
        return await self._row(channel)

    async def list(self, conn: Connection, p: api.Empty) -> pn.NotifyListResult:
        return pn.NotifyListResult(channels=[await self._row(c) for c in self.service.channels()])

    async def remove(self, conn: Connection, p: pn.NotifyRef) -> pn.NotifyRemoveResult:
        channel = await self.service.remove(p.id)
        return pn.NotifyRemoveResult(id=channel.id, kind=channel.kind)

    async def test(self, conn: Connection, p: pn.NotifyRef) -> pn.NotifyTestResult:
        channel = next((c for c in self.service.channels() if c.id == p.id), None)
        if channel is None:
            raise not_found("notification channel", p.id)
        delivery = await self.service.test(p.id)
        if delivery is None:  # removed while the test ran
            raise not_found("notification channel", p.id)
        return pn.NotifyTestResult(channel=await self._row(channel), delivery=delivery)


def _target(p: pn.NotifyAddParams) -> tuple[str | None, list[str] | None]:
    """The checked URL or argv for the channel's kind; what another kind takes is refused."""
    if p.kind != "webhook" and p.secret is not None:
        raise n.NotifyError("only a webhook takes a secret")
    if p.kind == "webhook":
        if p.command is not None:
            raise n.NotifyError("a webhook takes a URL, not a command")
        return n.check_webhook_url(p.url or ""), None
    if p.url is not None:
        raise n.NotifyError(f"a {p.kind} channel takes no URL")
    if p.kind == "command":
        return None, n.parse_command(p.command or "")
    if p.command is not None:
        raise n.NotifyError("a desktop channel takes no command")
    return None, None
