"""A session that starts to need the user is announced once (``SessionStateChanged``): its
agent exited, or its tmux session vanished (orphaned). Notifications listen for these."""

from __future__ import annotations

import asyncio

import pytest

from hangar.daemon.events import MemoryEventBus, Subscription
from hangar.daemon.sessions.errors import SessionError
from hangar.proto.events import SessionStateChanged, decode_event
from tests.sessions.helpers import wait_until

from .conftest import Harness


class States:
    """The (session name, state) pairs announced on a subscription so far."""

    def __init__(self, sub: Subscription) -> None:
        self.sub = sub
        self.seen: list[tuple[str, str]] = []

    async def __call__(self) -> list[tuple[str, str]]:
        for payload in self.sub.take_all():
            event = decode_event(payload)
            if isinstance(event, SessionStateChanged):
                self.seen.append((event.session.name, event.state))
        return list(self.seen)


async def test_an_orphaned_session_is_announced(harness: Harness) -> None:
    bus = MemoryEventBus()
    harness.with_service(events=bus)
    states = States(await bus.subscribe(harness.workspace_id))
    row = await harness.create("lost")
    await harness.tmux.kill_session(row.tmux_session)
    with pytest.raises(SessionError):
        await harness.service.idle(harness.workspace_id, row.id, None)
    assert await states() == [("lost", "orphaned")]


async def test_an_agent_that_exits_is_announced_once_by_the_background_watch(
    harness: Harness,
) -> None:
    bus = MemoryEventBus()
    harness.with_service(events=bus)
    states = States(await bus.subscribe(harness.workspace_id))
    gate = harness.repo / "gate"
    # runs until the test removes the gate, then exits: the pane stays, dead
    script = f"while [ ! -e {gate}.go ]; do sleep 0.05; done"
    await harness.create("brief", command=["sh", "-c", script])
    watch = asyncio.create_task(harness.service.watch(interval_s=0.05))
    try:
        (harness.repo / "gate.go").write_text("")
        await wait_until(states, lambda s: ("brief", "exited") in s, timeout=20)
        # later samples of the same dead pane are not announced again
        row = await harness.row("brief")
        assert row is not None
        for _ in range(3):
            await harness.service.idle(harness.workspace_id, row.id, None)
    finally:
        watch.cancel()
        await asyncio.gather(watch, return_exceptions=True)
    assert (await states()).count(("brief", "exited")) == 1
