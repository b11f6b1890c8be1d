"""Streams parsed transcript messages into the store and out as events, in batches.

Lines arrive faster than one transaction each would allow; the sink drains whatever has
accumulated in a single append, then publishes the rows (with their store-assigned seq)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from hangar.proto.events import TaskMessage
from hangar.proto.rows import TaskMessageRow


class TranscriptSink:
    def __init__(
        self,
        task_id: str,
        append: Callable[[str, Sequence[tuple[str, str]]], Awaitable[list[TaskMessageRow]]],
        publish: Callable[[TaskMessage], Awaitable[None]],
        log: Any,
    ) -> None:
        self._task_id = task_id
        self._append = append
        self._publish = publish
        self._log = log
        self._pending: list[tuple[str, str]] = []
        self._ready = asyncio.Event()
        self._closed = False
        self._flusher = asyncio.create_task(self._run(), name=f"transcript-{task_id}")

    def add(self, kind: str, body: str) -> None:
        self._pending.append((kind, body))
        self._ready.set()

    async def _flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        try:
            rows = await self._append(self._task_id, batch)
        except Exception:
            self._pending[:0] = batch  # keep them, in order, for the next attempt
            raise
        for row in rows:
            await self._publish(
                TaskMessage(task_id=row.task_id, seq=row.seq, kind=row.kind, body=row.body)
            )

    async def _run(self) -> None:
        while not self._closed:
            await self._ready.wait()
            self._ready.clear()
            try:
                await self._flush()
            except Exception as exc:  # a store hiccup: keep the batch, try again shortly
                self._log.warning("transcript flush failed; retrying", error=str(exc))
                await asyncio.sleep(0.5)
                self._ready.set()

    async def close(self) -> None:
        """Flush everything still pending (retrying briefly); never raises."""
        self._closed = True
        self._ready.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._flusher
        for delay in (0.0, 0.2, 1.0, 3.0):
            await asyncio.sleep(delay)
            try:
                await self._flush()
                return
            except Exception as exc:
                self._log.warning("final transcript flush failed", error=str(exc))
        self._log.error("transcript messages lost", count=len(self._pending))
