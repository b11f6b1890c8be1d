"""Notification channels and their delivery history (docs/notifications.md).

Channels are the user's, not a workspace's. Each channel keeps its last ``KEEP_DELIVERIES``
deliveries: recording one trims the older ones in the same transaction. ``NotifyStore`` is
the facade's ``store.notify``: each of its calls is one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager

from sqlalchemy import RowMapping, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.core.notify import Channel
from hangar.proto.notify import NotifyDeliveryRow
from hangar.store.context import StoreContext
from hangar.store.errors import InvalidValue, NotFound
from hangar.store.schema import NOTIFY_CHANNEL_KINDS, NOTIFY_DELIVERY_STATUSES
from hangar.store.schema import notify_channel as _C
from hangar.store.schema import notify_delivery as _D

__all__ = ["KEEP_DELIVERIES", "NotifyStore"]

#: deliveries kept per channel (``notify list`` shows the newest few)
KEEP_DELIVERIES = 50

Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


def _channel(m: RowMapping) -> Channel:
    events = tuple(json.loads(m["events"]))
    if m["kind"] == "command":
        return Channel(
            id=m["id"],
            kind="command",
            events=events,
            created_at=m["created_at"],
            argv=tuple(json.loads(m["target"])),
        )
    return Channel(
        id=m["id"],
        kind=m["kind"],
        events=events,
        created_at=m["created_at"],
        target=m["target"],
        secret_ref=m["secret_ref"],
    )


def _delivery(m: RowMapping) -> NotifyDeliveryRow:
    return NotifyDeliveryRow(
        id=m["id"],
        channel_id=m["channel_id"],
        kind=m["kind"],
        status=m["status"],
        attempts=m["attempts"],
        error=m["error"],
        created_at=m["created_at"],
    )


async def _get(conn: AsyncConnection, channel_id: str) -> Channel | None:
    m = (await conn.execute(select(_C).where(_C.c.id == channel_id))).mappings().first()
    return None if m is None else _channel(m)


class NotifyStore:
    """``Store.notify``: channels (add, get, list, remove) and deliveries (record, recent)."""

    def __init__(self, read: Connect, write: Connect, ctx: StoreContext) -> None:
        self._read = read
        self._write = write
        self._ctx = ctx

    def new_id(self) -> str:
        """An id for a channel or a delivery, from the store's clock and id source."""
        return self._ctx.new_id(self._ctx.now())

    async def add(
        self,
        *,
        kind: str,
        events: Sequence[str],
        target: str = "",
        argv: Sequence[str] = (),
        secret_ref: str | None = None,
        channel_id: str | None = None,
    ) -> Channel:
        """A new channel; its values are checked by the caller (``core.notify``)."""
        if kind not in NOTIFY_CHANNEL_KINDS:
            raise InvalidValue(f"a channel is {'|'.join(NOTIFY_CHANNEL_KINDS)}, not {kind!r}")
        stored = json.dumps(list(argv)) if kind == "command" else target
        now = self._ctx.now()
        new_id = channel_id or self._ctx.new_id(now)
        async with self._write() as conn:
            await conn.execute(
                insert(_C).values(
                    id=new_id,
                    kind=kind,
                    target=stored,
                    events=json.dumps(list(events)),
                    secret_ref=secret_ref,
                    created_at=now,
                )
            )
            row = await _get(conn, new_id)
        assert row is not None
        return row

    async def get(self, channel_id: str) -> Channel | None:
        async with self._read() as conn:
            return await _get(conn, channel_id)

    async def channels(self) -> list[Channel]:
        async with self._read() as conn:
            rows = await conn.execute(select(_C).order_by(_C.c.created_at, _C.c.id))
            return [_channel(m) for m in rows.mappings()]

    async def remove(self, channel_id: str) -> Channel:
        """The channel and its history, gone; ``NotFound`` when there is no such channel."""
        async with self._write() as conn:
            row = await _get(conn, channel_id)
            if row is None:
                raise NotFound("notification channel", channel_id)
            await conn.execute(delete(_D).where(_D.c.channel_id == channel_id))
            await conn.execute(delete(_C).where(_C.c.id == channel_id))
        return row

    async def record(
        self,
        channel_id: str,
        *,
        kind: str,
        status: str,
        attempts: int = 0,
        error: str | None = None,
        delivery_id: str | None = None,
    ) -> NotifyDeliveryRow | None:
        """One delivery, the channel's oldest beyond ``KEEP_DELIVERIES`` trimmed; None when
        the channel was removed meanwhile."""
        if status not in NOTIFY_DELIVERY_STATUSES:
            raise InvalidValue(f"a delivery is {'|'.join(NOTIFY_DELIVERY_STATUSES)}")
        now = self._ctx.now()
        new_id = delivery_id or self._ctx.new_id(now)
        async with self._write() as conn:
            if await _get(conn, channel_id) is None:
                return None
            await conn.execute(
                insert(_D).values(
                    id=new_id,
                    channel_id=channel_id,
                    kind=kind,
                    status=status,
                    attempts=attempts,
                    error=error,
                    created_at=now,
                )
            )
            kept = (
                select(_D.c.id)
                .where(_D.c.channel_id == channel_id)
                .order_by(_D.c.created_at.desc(), _D.c.id.desc())
                .limit(KEEP_DELIVERIES)
            )
            await conn.execute(
                delete(_D).where(_D.c.channel_id == channel_id, _D.c.id.not_in(kept))
            )
            m = (await conn.execute(select(_D).where(_D.c.id == new_id))).mappings().first()
        return None if m is None else _delivery(m)

    async def recent(self, channel_id: str, *, limit: int = 5) -> list[NotifyDeliveryRow]:
        """The channel's newest deliveries, newest first."""
        async with self._read() as conn:
            rows = await conn.execute(
                select(_D)
                .where(_D.c.channel_id == channel_id)
                .order_by(_D.c.created_at.desc(), _D.c.id.desc())
                .limit(limit)
            )
            return [_delivery(m) for m in rows.mappings()]
