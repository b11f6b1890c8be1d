"""Notification channels and their delivery history, on both backends."""

from __future__ import annotations

import pytest

from hangar.core.clock import FixedClock
from hangar.store import InvalidValue, NotFound, Store
from hangar.store.notify import KEEP_DELIVERIES


async def test_channels_round_trip_each_kind(store: Store) -> None:
    desktop = await store.notify.add(kind="desktop", events=("task.failed",))
    hook = await store.notify.add(
        kind="webhook",
        target="https://u:p@example.com/h?k=1",
        events=("task.failed", "task.done"),
        secret_ref="notify-webhook-x",
    )
    cmd = await store.notify.add(kind="command", argv=["notify", "--x", "a b"], events=("all",))
    assert desktop.kind == "desktop" and desktop.events == ("task.failed",)
    assert hook.target == "https://u:p@example.com/h?k=1" and hook.secret_ref == "notify-webhook-x"
    assert hook.shown() == "https://example.com/h?…"
    assert cmd.argv == ("notify", "--x", "a b") and cmd.shown() == "notify --x 'a b'"
    assert [c.id for c in await store.notify.channels()] == [desktop.id, hook.id, cmd.id]
    assert await store.notify.get(hook.id) == hook


async def test_an_unknown_kind_or_status_is_refused(store: Store) -> None:
    with pytest.raises(InvalidValue):
        await store.notify.add(kind="pager", events=())
    ch = await store.notify.add(kind="desktop", events=())
    with pytest.raises(InvalidValue):
        await store.notify.record(ch.id, kind="task.failed", status="lost")


async def test_deliveries_keep_the_newest_and_go_with_their_channel(
    store: Store, clock: FixedClock
) -> None:
    ch = await store.notify.add(kind="desktop", events=("task.failed",))
    other = await store.notify.add(kind="desktop", events=("task.failed",))
    await store.notify.record(other.id, kind="task.failed", status="delivered", attempts=1)
    for i in range(KEEP_DELIVERIES + 5):
        clock.advance(1)
        await store.notify.record(ch.id, kind="task.failed", status="failed", error=f"e{i}")
    recent = await store.notify.recent(ch.id, limit=100)
    assert len(recent) == KEEP_DELIVERIES
    assert recent[0].error == f"e{KEEP_DELIVERIES + 4}" and recent[-1].error == "e5"
    assert len(await store.notify.recent(other.id)) == 1
    removed = await store.notify.remove(ch.id)
    assert removed.id == ch.id
    assert await store.notify.recent(ch.id) == []
    assert await store.notify.get(ch.id) is None
    assert await store.notify.record(ch.id, kind="task.failed", status="delivered") is None
    with pytest.raises(NotFound):
        await store.notify.remove(ch.id)
