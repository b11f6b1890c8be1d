"""One channel's worker on its own: the bounded queue drops its oldest notice (said in the
log and in the history), and a sender that raises is a failed delivery, not a dead worker."""

from __future__ import annotations

import asyncio

from hangar.adapters.notifiers import Outcome
from hangar.core import notices as nt
from hangar.core import notify as n
from hangar.daemon.notify.settings import NotifySettings
from hangar.daemon.notify.worker import ChannelWorker
from hangar.testing import InProcessDaemon, wait_for
from tests.daemon.helpers import RecordingLog


def _notice(i: int) -> nt.Notice:
    return nt.notice_of(nt.Facts(kind=n.TASK_FAILED, workspace_id="W", task_id=f"T{i}"))


async def test_a_full_queue_drops_its_oldest_and_says_so(hangar: InProcessDaemon) -> None:
    channel = await hangar.store.notify.add(kind="command", argv=["x"], events=n.EVENT_KINDS)
    gate = asyncio.Event()
    sent: list[str] = []

    async def send(ch: n.Channel, notice: nt.Notice, body: bytes, delivery: str) -> Outcome:
        await gate.wait()
        sent.append(notice.facts.task_id or "")
        return Outcome(True)

    log = RecordingLog()
    settings = NotifySettings(window_s=0, queue_limit=3)
    worker = ChannelWorker(channel, send=send, store=hangar.store, settings=settings, log=log)
    worker.start()
    try:
        worker.offer(_notice(0))
        await wait_for(lambda: worker.busy)  # T0 is being sent, the queue is empty
        for i in range(1, 6):
            worker.offer(_notice(i))
        gate.set()
        await wait_for(lambda: len(sent) == 4 and not worker.busy and worker.pending() == 0)
    finally:
        await worker.stop()
    assert sent == ["T0", "T3", "T4", "T5"]
    assert log.events("warning").count("notification dropped: the channel's queue is full") == 2
    history = await hangar.store.notify.recent(channel.id, limit=10)
    assert sorted(d.status for d in history) == ["delivered"] * 4 + ["dropped"] * 2


async def test_a_sender_that_raises_is_a_failed_delivery(hangar: InProcessDaemon) -> None:
    channel = await hangar.store.notify.add(kind="desktop", events=n.EVENT_KINDS)

    async def send(ch: n.Channel, notice: nt.Notice, body: bytes, delivery: str) -> Outcome:
        raise RuntimeError("boom")

    worker = ChannelWorker(
        channel, send=send, store=hangar.store, settings=NotifySettings(), log=RecordingLog()
    )
    row = await worker.deliver(_notice(1))
    assert row is not None and (row.status, row.attempts) == ("failed", 1)
    assert row.error == "RuntimeError: boom"


async def test_stop_is_never_lost_when_a_notice_arrives_as_it_is_asked(
    hangar: InProcessDaemon,
) -> None:
    """A worker woken in the same breath as it is stopped still stops (asyncio.wait_for on
    3.11 returned instead of raising there, and the daemon's shutdown waited for ever). The
    worker waits with a deadline only while a burst's window is open, so one is opened."""
    channel = await hangar.store.notify.add(kind="desktop", events=n.EVENT_KINDS)

    async def send(ch: n.Channel, notice: nt.Notice, body: bytes, delivery: str) -> Outcome:
        return Outcome(True)

    for steps in range(8):  # every interleaving of the wake-up and the cancel, near enough
        worker = ChannelWorker(
            channel,
            send=send,
            store=hangar.store,
            settings=NotifySettings(window_s=60),
            log=RecordingLog(),
        )
        worker.start()
        worker.offer(_notice(0))  # sent at once, opening the window
        worker.offer(_notice(1))  # counted into it: the worker now waits with a deadline
        await wait_for(lambda w=worker: w.pending() == 1 and not w.busy)  # type: ignore[misc]
        await asyncio.sleep(0.01)
        worker.offer(_notice(2))  # sets the wake event
        for _ in range(steps):
            await asyncio.sleep(0)
        stopping = asyncio.create_task(worker.stop())
        done, _ = await asyncio.wait({stopping}, timeout=5)
        if not done:  # the cancel was lost: clean up, then say so
            await worker.stop()
        assert done, f"the worker did not stop ({steps} steps between wake and stop)"
