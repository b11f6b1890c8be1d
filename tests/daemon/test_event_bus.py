"""The event port: subscriptions per workspace, taps on every workspace."""

from __future__ import annotations

from hangar.daemon.events import MemoryEventBus
from hangar.proto.events import Event, TaskQueued, decode_event


def _queued(task_id: str) -> TaskQueued:
    return TaskQueued(task_id=task_id, issue_id=None, agent_id="a1")


async def test_a_subscriber_sees_only_its_workspace() -> None:
    bus = MemoryEventBus()
    sub = await bus.subscribe("w1")
    await bus.publish("w2", _queued("t2"))
    await bus.publish("w1", _queued("t1"))
    assert [decode_event(p) for p in sub.take_all()] == [_queued("t1")]


async def test_a_tap_sees_every_workspace_in_order_and_counts_as_a_subscriber() -> None:
    bus = MemoryEventBus()
    seen: list[tuple[str, Event]] = []
    assert not bus.has_subscribers("w1")
    bus.tap(lambda ws, ev: seen.append((ws, ev)))
    assert bus.has_subscribers("w1")
    await bus.publish("w1", _queued("t1"))
    await bus.publish("w2", _queued("t2"))
    assert seen == [("w1", _queued("t1")), ("w2", _queued("t2"))]


async def test_a_failing_tap_neither_reaches_the_publisher_nor_starves_the_others() -> None:
    bus = MemoryEventBus()
    seen: list[str] = []

    def broken(_ws: str, _ev: Event) -> None:
        raise RuntimeError("boom")

    def listener(ws: str, _ev: Event) -> None:
        seen.append(ws)

    bus.tap(broken)
    bus.tap(listener)
    sub = await bus.subscribe("w1")
    await bus.publish("w1", _queued("t1"))
    assert seen == ["w1"]
    assert len(sub.take_all()) == 1
    bus.untap(listener)
    await bus.publish("w1", _queued("t2"))
    assert seen == ["w1"]


async def test_a_bound_method_is_untapped_by_another_access_to_it() -> None:
    class Listener:
        def __init__(self) -> None:
            self.seen = 0

        def on_event(self, _ws: str, _ev: Event) -> None:
            self.seen += 1

    bus = MemoryEventBus()
    listener = Listener()
    bus.tap(listener.on_event)
    bus.untap(listener.on_event)
    assert not bus.tapped()
    await bus.publish("w1", _queued("t1"))
    assert listener.seen == 0
