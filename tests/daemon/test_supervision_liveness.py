"""``Supervision`` alone, over a real process: which output counts as progress for the
watchdogs. A provider's transport retries do not; retrying past the bound stops the run
(``KillReason.TRANSPORT``); a provider that gave its verdict but lingers is stopped after a
grace (``KillReason.ENDED``). Limits are short; waits are deadlines."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from hangar.adapters import process
from hangar.daemon.providers import get_provider
from hangar.daemon.tasks.supervision import KillReason, Limits, Supervision
from hangar.daemon.tasks.transcript import TranscriptSink
from hangar.proto.rows import TaskMessageRow
from tests.daemon.helpers import RecordingLog

RECONNECT = json.dumps({"type": "error", "message": "Reconnecting... 1/5 (stream disconnected)"})
STARTED = json.dumps({"type": "turn.started"})
FAILED = json.dumps({"type": "turn.failed", "error": {"message": "stream disconnected"}})


def script(body: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(body)]


class Stored:
    """The transcript the sink wrote, in order."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []

    async def append(self, task_id: str, items: Sequence[tuple[str, str]]) -> list[TaskMessageRow]:
        made = []
        for kind, body in items:
            self.rows.append((kind, body))
            made.append(
                TaskMessageRow(
                    task_id=task_id, seq=len(self.rows), kind=kind, body=body, created_at=0
                )
            )
        return made


async def supervise(
    tmp_path: Path, argv: list[str], limits: Limits, provider: str = "codex"
) -> tuple[bool, list[KillReason], Supervision, Stored]:
    proc = await process.spawn(argv, cwd=tmp_path, env=dict(os.environ))
    stored = Stored()
    log = RecordingLog()

    async def publish(_: object) -> None:
        return None

    async def nothing(*_: object) -> None:
        return None

    watch = Supervision(
        proc,
        get_provider(provider).parser(),
        TranscriptSink("t1", stored.append, publish, log),
        raw_log=tmp_path / "raw.jsonl",
        stdin_data=None,
        limits=limits,
        on_tool_call=nothing,
        on_session=nothing,
        log=log,
    )
    killed = asyncio.Event()
    reasons: list[KillReason] = []

    def kill(reason: KillReason) -> None:
        reasons.append(reason)
        killed.set()

    on_its_own = await asyncio.wait_for(watch.run(killed, kill), 60)
    return on_its_own, reasons, watch, stored


async def test_transport_retries_do_not_reset_the_inactivity_clock(tmp_path: Path) -> None:
    argv = script(
        f"""
        import sys, time
        print({STARTED!r}, flush=True)
        while True:
            print({RECONNECT!r}, flush=True)
            time.sleep(0.05)
        """
    )
    limits = Limits(inactivity_s=3.0, max_runtime_s=30.0, kill_grace_s=1.0)

    on_its_own, reasons, watch, stored = await supervise(tmp_path, argv, limits)

    assert not on_its_own
    assert reasons == [KillReason.TRANSPORT]  # the silence was a provider retrying, not idling
    assert watch.streams.retrying_since is not None
    assert [kind for kind, _ in stored.rows] == ["error"]  # the series, said once


async def test_retrying_past_the_bound_stops_the_run_though_inactivity_allows_more(
    tmp_path: Path,
) -> None:
    argv = script(
        f"""
        import sys, time
        print({STARTED!r}, flush=True)
        while True:
            print({RECONNECT!r}, flush=True)
            time.sleep(0.05)
        """
    )
    limits = Limits(inactivity_s=60.0, max_runtime_s=20.0, kill_grace_s=1.0, retry_limit_s=1.0)

    on_its_own, reasons, _, _ = await supervise(tmp_path, argv, limits)

    assert not on_its_own
    assert reasons == [KillReason.TRANSPORT]


async def test_a_quiet_run_is_still_an_inactivity_timeout(tmp_path: Path) -> None:
    argv = script(
        f"""
        import time
        print({STARTED!r}, flush=True)
        time.sleep(3600)
        """
    )
    limits = Limits(inactivity_s=0.5, max_runtime_s=30.0, kill_grace_s=1.0)

    _, reasons, _, _ = await supervise(tmp_path, argv, limits)

    assert reasons == [KillReason.INACTIVITY]


async def test_a_provider_that_ended_but_lingers_is_stopped_after_the_grace(
    tmp_path: Path,
) -> None:
    # it keeps printing (so inactivity never fires) after its terminal event
    argv = script(
        f"""
        import time
        print({STARTED!r}, flush=True)
        print({FAILED!r}, flush=True)
        while True:
            print("still here", flush=True)
            time.sleep(0.05)
        """
    )
    limits = Limits(inactivity_s=60.0, max_runtime_s=20.0, kill_grace_s=1.0, ended_grace_s=0.5)

    on_its_own, reasons, watch, _ = await supervise(tmp_path, argv, limits)

    assert not on_its_own
    assert reasons == [KillReason.ENDED]
    assert watch.parser.ended


async def test_stderr_while_retrying_is_not_progress_either(tmp_path: Path) -> None:
    argv = script(
        f"""
        import sys, time
        print({STARTED!r}, flush=True)
        print({RECONNECT!r}, flush=True)
        while True:
            sys.stderr.write("WARN stream disconnected - retrying\\n")
            sys.stderr.flush()
            time.sleep(0.05)
        """
    )
    limits = Limits(inactivity_s=3.0, max_runtime_s=30.0, kill_grace_s=1.0)

    _, reasons, _, _ = await supervise(tmp_path, argv, limits)

    assert reasons == [KillReason.TRANSPORT]
