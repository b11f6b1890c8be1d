"""Idleness from pane samples, measured on the injected clock: the test moves time."""

from __future__ import annotations

import asyncio

from hangar.proto import api
from hangar.proto.rows import SessionRow
from tests.sessions.helpers import wait_until

from .conftest import Harness


async def _read(harness: Harness, row: SessionRow) -> str:
    res = await harness.service.read(harness.workspace_id, api.SessionReadParams(id=row.id))
    return res.content


async def test_idle_follows_the_clock(harness: Harness) -> None:
    row = await harness.create("calm", idle_threshold_ms=1000)
    started = harness.clock.now_ms()

    first = await harness.service.idle(harness.workspace_id, "calm", None)
    assert (first.state, first.idle, first.elapsed_ms, first.threshold_ms) == (
        "busy",
        False,
        0,
        1000,
    )

    harness.clock.advance(999)
    almost = await harness.service.idle(harness.workspace_id, row.id, None)
    assert (almost.state, almost.elapsed_ms) == ("busy", 999)

    harness.clock.advance(1)
    settled = await harness.service.idle(harness.workspace_id, row.id, None)
    assert (settled.state, settled.idle, settled.elapsed_ms) == ("idle", True, 1000)
    assert settled.last_changed_at.endswith("Z")

    # a caller's threshold wins over the session's
    strict = await harness.service.idle(harness.workspace_id, row.id, 5000)
    assert (strict.state, strict.threshold_ms) == ("busy", 5000)
    screen_hash, changed_at = await harness.store.session_screen(harness.workspace_id, row.id)
    assert screen_hash is not None and changed_at == started


async def test_a_send_restarts_the_idle_clock(harness: Harness) -> None:
    row = await harness.create("echo", idle_threshold_ms=1000)
    await harness.service.idle(harness.workspace_id, row.id, None)
    harness.clock.advance(5000)
    assert (await harness.service.idle(harness.workspace_id, row.id, None)).idle

    await harness.service.send(harness.workspace_id, row.id, "hello", press_enter=True)
    # cat echoes the typed line, then prints it: wait for both before sampling
    await wait_until(lambda: _read(harness, row), lambda text: text.count("hello") == 2)

    after = await harness.service.idle(harness.workspace_id, row.id, None)
    assert (after.state, after.elapsed_ms) == ("busy", 0)
    harness.clock.advance(1000)
    assert (await harness.service.idle(harness.workspace_id, row.id, None)).state == "idle"


async def test_wait_idle_reports_a_timeout_while_busy_and_settles_once_quiet(
    harness: Harness,
) -> None:
    row = await harness.create("waiter", idle_threshold_ms=1000)
    p = api.SessionWaitIdleParams(id=row.id, timeout_ms=0)

    busy = await harness.service.wait_idle(harness.workspace_id, p)
    assert (busy.state, busy.timed_out) == ("busy", True)

    harness.clock.advance(1000)
    quiet = await harness.service.wait_idle(harness.workspace_id, p)
    assert (quiet.state, quiet.idle, quiet.timed_out, quiet.elapsed_ms) == (
        "idle",
        True,
        False,
        1000,
    )


async def test_the_background_watch_knows_since_when_a_session_is_quiet(
    harness: Harness,
) -> None:
    row = await harness.create("watched", idle_threshold_ms=1000)
    watch = asyncio.create_task(harness.service.watch(interval_s=0.05))
    try:
        await wait_until(
            lambda: harness.store.session_screen(harness.workspace_id, row.id),
            lambda screen: screen[0] is not None,
        )
    finally:
        watch.cancel()
        await asyncio.gather(watch, return_exceptions=True)

    harness.clock.advance(60_000)
    # the first explicit check is not "busy, quiet for 0 ms": the watch sampled before
    first = await harness.service.idle(harness.workspace_id, row.id, None)
    assert (first.state, first.elapsed_ms) == ("idle", 60_000)


async def test_list_waits_for_any_session_to_settle(harness: Harness) -> None:
    await harness.create("a", idle_threshold_ms=1000)
    p = api.SessionListParams(wait_for_idle="any", timeout_ms=0)

    busy = await harness.service.list(harness.workspace_id, p)
    assert busy.timed_out and [v.state for v in busy.sessions] == ["busy"]

    harness.clock.advance(1000)
    quiet = await harness.service.list(harness.workspace_id, p)
    assert not quiet.timed_out and [v.state for v in quiet.sessions] == ["idle"]
