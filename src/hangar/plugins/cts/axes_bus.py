"""Axes 6 and 7: the event bus, from the plugin's side (get after publish; subscriptions)."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Final

from hangar.plugins import protocol as p
from hangar.plugins.cts.drive import Driver
from hangar.plugins.cts.harness import Harness
from hangar.plugins.cts.result import AxisFailure

__all__ = ["snapshot_get", "subscribe_delivery"]

EVENT_WAIT: Final = 5.0
#: Proxy mode cannot ask the plugin what it received: give the delivery this long to be
#: written and handled before checking the plugin survived it.
SETTLE: Final = 0.2


async def snapshot_get(h: Harness) -> str:
    """What was published on a topic is what ``host/snapshot/get`` returns, newest first."""
    d = Driver(h)
    nonce = secrets.token_hex(4)
    topic = f"cts.snapshot.{nonce}"
    if not h.manifest.granted("event_bus"):
        outcome = await d.get(topic)
        if outcome.code != p.CAPABILITY_DENIED:
            raise AxisFailure(f"without event_bus, get came back {outcome.describe()}, not -32001")
        return (
            f"{d.mode}: event_bus not granted: host/snapshot/get is denied (-32001) as it must be"
        )
    pid = await h.start()
    first = f"cts-1:{nonce}".encode()
    provided = h.manifest.provides.snapshots
    if not provided:
        # a plugin may publish only the topics it provides: its publish must go nowhere,
        # while get still returns what others publish
        await d.publish(topic, first)
        await asyncio.sleep(SETTLE)
        if h.host.snapshot(topic) is not None:
            raise AxisFailure(f"a publish on undeclared topic {topic} reached the bus")
        h.host.publish(topic, first, source="cts")
        await _expect_get(d, topic, first, "after a host publish")
        second = f"cts-2:{nonce}".encode()
        h.host.publish(topic, second, source="cts")
        await _expect_get(d, topic, second, "after a newer host publish")
        await h.still_works(pid)
        return (
            f"{d.mode}: provides no snapshots: its publish on {topic} is dropped; "
            "get returns the newest host publish"
        )
    topic = provided[0]  # a private host: publishing test bytes there harms nobody
    published = await d.publish(topic, first)
    if not published.ok:
        raise AxisFailure(f"publish on {topic} came back {published.describe()}")
    snap = await h.host.wait_snapshot(topic, EVENT_WAIT)
    if snap is None or snap.payload != first or snap.source != h.id:
        seen = "nothing" if snap is None else f"{snap.payload[:40]!r} from {snap.source}"
        raise AxisFailure(
            f"the plugin's publish on {topic} never reached the bus (it holds {seen})"
        )
    await _expect_get(d, topic, first, "after its own publish")
    second = f"cts-2:{nonce}".encode()
    h.host.publish(topic, second, source="cts")
    await _expect_get(d, topic, second, "after a newer host publish")
    await h.still_works(pid)
    return f"{d.mode}: get after publish returns the payload, and the newer one after a republish"


async def _expect_get(d: Driver, topic: str, want: bytes, when: str) -> None:
    outcome = await d.get(topic)
    got = outcome.bytes_field("payload") if outcome.ok else None
    if got != want:
        shown = repr(got[:40]) if got is not None else outcome.describe()
        raise AxisFailure(f"get {topic} {when} returned {shown}, not {want!r}")


async def subscribe_delivery(h: Harness) -> str:
    """A publish on each ``[subscribes]`` topic reaches the plugin as ``plugin/handle_event``.

    Probe mode: the plugin must report the payload (``cts events``). Proxy mode: the runtime
    must route it to the plugin's connection, and the plugin must survive handling it (the
    payload is arbitrary bytes: a subscriber must not trust its publishers).
    """
    topics = h.manifest.subscribes.snapshots
    if not topics:
        return "no [subscribes] snapshots: nothing to deliver (passes trivially)"
    d = Driver(h)
    pid = await h.start()
    nonce = secrets.token_hex(4)
    for topic in topics:
        payload = f"cts-event:{nonce}:{topic}".encode()
        routed = len(h.host.deliveries)
        h.host.publish(topic, payload, source="cts")
        if topic not in h.host.deliveries[routed:]:
            raise AxisFailure(f"a publish on {topic} was not routed to the plugin")
        if d.probing:
            await _wait_event(d, topic, payload)
        else:
            await asyncio.sleep(SETTLE)
    await h.still_works(pid, "after the deliveries")
    how = "reported by the plugin" if d.probing else "routed; the plugin kept working"
    return f"{d.mode}: a publish on {', '.join(topics)} reached handle_event ({how})"


async def _wait_event(d: Driver, topic: str, payload: bytes) -> None:
    deadline = time.monotonic() + EVENT_WAIT
    while (topic, payload) not in await d.events():
        if time.monotonic() > deadline:
            raise AxisFailure(f"handle_event never saw the publish on {topic} ({EVENT_WAIT:g} s)")
        await asyncio.sleep(0.05)
