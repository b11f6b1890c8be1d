"""Watching one running agent: drain its pipes into the raw log, the transcript and the
tails; feed its stdin; enforce the inactivity and max-runtime watchdogs; and stop its whole
process group when a kill is asked for. The runner decides what the ending means."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hangar.adapters import process
from hangar.core.result import clip_tail
from hangar.daemon.providers.base import ENDED_GRACE_S, TRANSPORT_RETRY_LIMIT_S
from hangar.daemon.tasks.transcript import TranscriptSink

__all__ = ["STDERR_TAIL_CHARS", "KillReason", "Limits", "Streams", "Supervision"]

STDERR_TAIL_CHARS = 4000
STDOUT_TAIL_CHARS = 64_000


class KillReason(enum.Enum):
    CANCEL = "cancel"
    INACTIVITY = "inactivity"
    MAX_RUNTIME = "max_runtime"
    SHUTDOWN = "shutdown"
    #: the provider kept retrying its own transport, with no progress, past the bound
    TRANSPORT = "transport"
    #: the provider gave its terminal event but its process lingered past the grace
    ENDED = "ended"


@dataclass
class Streams:
    """What the run has said so far, for its result and its error."""

    #: the last progress: output that was not the provider retrying its own transport
    last_output: float = field(default_factory=time.monotonic)
    stderr_tail: str = ""
    stdout_tail: str = ""
    tool_calls: int = 0
    #: since when the provider has been retrying its transport with no progress (else None)
    retrying_since: float | None = None
    #: when the provider's terminal event arrived (else None)
    ended_at: float | None = None
    #: the last error-lane message, so a closing note does not repeat it
    last_error: str | None = None


@dataclass(frozen=True)
class Limits:
    inactivity_s: float
    max_runtime_s: float
    kill_grace_s: float
    #: retrying its own transport this long with no progress stops the run
    #: (docs/agents.md#liveness)
    retry_limit_s: float = TRANSPORT_RETRY_LIMIT_S
    #: lingering this long after its terminal event stops the run
    ended_grace_s: float = ENDED_GRACE_S


class Supervision:
    """One agent process from spawn to exit. ``on_message`` gets each parsed message,
    ``on_tool_call`` the running count, ``on_session`` a newly seen session id."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        parser: Any,
        sink: TranscriptSink,
        *,
        raw_log: Path,
        stdin_data: bytes | None,
        limits: Limits,
        on_tool_call: Callable[[int, int], Awaitable[None]],
        on_session: Callable[[str], Awaitable[None]],
        log: Any,
    ) -> None:
        self.proc = proc
        self.parser = parser
        self.sink = sink
        self.raw_log = raw_log
        self.stdin_data = stdin_data
        self.limits = limits
        self.on_tool_call = on_tool_call
        self.on_session = on_session
        self.log = log
        self.streams = Streams()
        self.started = time.monotonic()
        self._session: str | None = None

    async def run(self, killed: asyncio.Event, kill: Callable[[KillReason], None]) -> bool:
        """Until the agent exits or ``killed`` is set; True when it exited on its own. Either
        way its group is gone and its output drained when this returns."""
        proc = self.proc
        with open(self.raw_log, "ab") as raw:
            io = [
                asyncio.create_task(self._read_stdout(raw)),
                asyncio.create_task(self._read_stderr()),
            ]
            if proc.stdin is not None:
                io.append(asyncio.create_task(self._feed_stdin()))
            dog = asyncio.create_task(self._watchdog(kill))
            # the leader's own exit, not the end of its pipes: a background child it left
            # behind may hold them open indefinitely
            exited = asyncio.create_task(process.wait_leader_exit(proc))
            stop = asyncio.create_task(killed.wait())
            try:
                await asyncio.wait({exited, stop}, return_when=asyncio.FIRST_COMPLETED)
                dog.cancel()
                on_its_own = exited.done()
                if on_its_own:
                    process.kill_group(proc.pid)  # reap whatever the leader left in its group
                else:
                    await process.terminate_group(proc, grace_s=self.limits.kill_grace_s)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), 10.0)
                with contextlib.suppress(TimeoutError):  # pipes end once their holders go
                    await asyncio.wait_for(asyncio.gather(*io, return_exceptions=True), 5.0)
            finally:
                for t in (*io, dog, stop, exited):
                    t.cancel()
                await self.sink.close()
        return on_its_own

    @property
    def exit_code(self) -> int:
        return self.proc.returncode if self.proc.returncode is not None else -1

    async def _feed_stdin(self) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(self.stdin_data or b"")
            await stdin.drain()
            stdin.close()

    async def _read_stdout(self, raw: Any) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        streams = self.streams
        while True:
            try:
                line = await stdout.readline()
            except ValueError:  # over the 16 MiB line limit: asyncio dropped it already
                continue
            if not line:
                return
            raw.write(line)  # persisted before parsing: a crash still leaves it
            text = line.decode("utf-8", errors="replace").rstrip("\r\n")
            streams.stdout_tail = clip_tail(streams.stdout_tail + text + "\n", STDOUT_TAIL_CHARS)
            try:  # one bad line or a store hiccup must not stop the draining
                await self._on_line(text)
            except Exception as exc:
                self.log.warning("transcript line not processed", error=str(exc))

    async def _on_line(self, text: str) -> None:
        messages = self.parser.feed(text)
        self._note_liveness()
        for msg in messages:
            self.sink.add(str(msg.kind), msg.body)
            if str(msg.kind) == "error":
                self.streams.last_error = msg.body
            if str(msg.kind) == "tool_call":
                self.streams.tool_calls += 1
                elapsed = int((time.monotonic() - self.started) * 1000)
                await self.on_tool_call(self.streams.tool_calls, elapsed)
        sid = self.parser.session_id
        if sid and sid != self._session:
            self._session = sid
            await self.on_session(sid)

    def _note_liveness(self) -> None:
        """After a stdout line: was it progress? A provider retrying its own transport is not
        making any, so only other lines move the inactivity clock."""
        now, streams = time.monotonic(), self.streams
        if self.parser.retrying is None:
            streams.last_output = now
            streams.retrying_since = None
        elif streams.retrying_since is None:
            streams.retrying_since = now
        if streams.ended_at is None and self.parser.ended:
            streams.ended_at = now

    async def _read_stderr(self) -> None:
        stderr = self.proc.stderr
        assert stderr is not None
        streams = self.streams
        while True:
            chunk = await stderr.read(65536)
            if not chunk:
                return
            if streams.retrying_since is None:  # while retrying, stderr is its retry noise
                streams.last_output = time.monotonic()
            text = chunk.decode("utf-8", errors="replace")
            streams.stderr_tail = clip_tail(streams.stderr_tail + text, STDERR_TAIL_CHARS)

    async def _watchdog(self, kill: Callable[[KillReason], None]) -> None:
        limits, streams = self.limits, self.streams
        while True:
            now = time.monotonic()
            idle_left = streams.last_output + limits.inactivity_s - now
            run_left = self.started + limits.max_runtime_s - now
            retrying = streams.retrying_since
            retry_left = retrying + limits.retry_limit_s - now if retrying is not None else 1.0
            ended = streams.ended_at
            ended_left = ended + limits.ended_grace_s - now if ended is not None else 1.0
            if run_left <= 0:
                kill(KillReason.MAX_RUNTIME)
                return
            if ended_left <= 0:
                kill(KillReason.ENDED)
                return
            if idle_left <= 0 or retry_left <= 0:
                # silence that is a provider retrying its transport is that provider's failure
                kill(KillReason.TRANSPORT if retrying is not None else KillReason.INACTIVITY)
                return
            await asyncio.sleep(min(idle_left, run_left, retry_left, ended_left, 1.0))
