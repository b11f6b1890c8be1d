"""Notifications on the wire: channels, their recent deliveries, and the params and results
of ``hangar/notify_*`` (docs/notifications.md). A webhook's secret travels only in
``NotifyAddParams``, over the private socket, and never comes back; a channel's URL is
answered without its user, password or query."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from hangar.core.vocab import MAX_NOTIFY_COMMAND, MAX_NOTIFY_URL
from hangar.proto.api import Params, Result
from hangar.proto.rows import Row

__all__ = [
    "ChannelKind",
    "NotifyAddParams",
    "NotifyChannelRow",
    "NotifyDeliveryRow",
    "NotifyListResult",
    "NotifyRef",
    "NotifyRemoveResult",
    "NotifyTestResult",
]

ChannelKind = Literal["desktop", "webhook", "command"]
ChannelId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Url = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NOTIFY_URL)]
CommandText = Annotated[str, msgspec.Meta(max_length=MAX_NOTIFY_COMMAND)]
Secret = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
EventName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
#: names are checked by the daemon (core/notify.py), which lists the valid ones
EventNames = Annotated[list[EventName], msgspec.Meta(max_length=16)]


class NotifyDeliveryRow(Row, kw_only=True):
    """One message sent (or not) through a channel."""

    id: str
    channel_id: str
    #: the event kind (``task.failed`` …, ``test``)
    kind: str
    #: delivered | failed | dropped (the channel's queue was full) | coalesced (counted
    #: into a later summary)
    status: str
    attempts: int = 0
    error: str | None = None
    created_at: int


class NotifyChannelRow(Row, kw_only=True):
    id: str
    kind: str
    #: what it reaches, for people: the URL without credentials or query, the command's
    #: argv as one line, ``""`` for desktop
    target: str
    events: list[str]
    #: a webhook signs its bodies (the secret itself never leaves the daemon)
    signed: bool = False
    #: None when it can deliver; else why not ("unavailable: no notify-send …")
    unavailable: str | None = None
    created_at: int
    #: the latest deliveries, newest first
    deliveries: list[NotifyDeliveryRow] = msgspec.field(default_factory=list)


class NotifyAddParams(Params, kw_only=True):
    kind: ChannelKind
    #: webhook: where to POST
    url: Url | None = None
    #: command: the program and its arguments, shell-quoted (split, never run by a shell)
    command: CommandText | None = None
    #: webhook: the HMAC-SHA256 key (kept in the secret store)
    secret: Secret | None = None
    #: event names; absent: the defaults (every kind but ``task.done``); ``["all"]``: all
    events: EventNames | None = None


class NotifyRef(Params, kw_only=True):
    id: ChannelId


class NotifyListResult(Result, kw_only=True):
    channels: list[NotifyChannelRow]


class NotifyRemoveResult(Result, kw_only=True):
    id: str
    kind: str


class NotifyTestResult(Result, kw_only=True):
    """What the test message met: ``delivery.status`` delivered or failed, and why."""

    channel: NotifyChannelRow
    delivery: NotifyDeliveryRow
