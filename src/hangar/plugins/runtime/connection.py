"""JSON-RPC over one plugin's stdin/stdout, with every queue bounded.

Out: one writer task drains a priority lane (requests, responses, keys) before the event
lane, where deliveries coalesce per topic (only the latest snapshot matters), so a plugin
that stops reading only ever costs a bounded amount of memory. In: one reader task; a bad
frame or a non-JSON body ends the connection (the supervisor counts it as a crash); plugin
notifications go through a bounded queue that drops, and counts, what does not fit; plugin
requests are served concurrently up to a cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hangar.plugins.runtime.errors import PluginCrashed, PluginTimeout
from hangar.proto.framing import MAX_BODY_BYTES, FrameError, read_frame, write_frame
from hangar.proto.jsonrpc import (
    BUSY,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    PARSE_ERROR,
    Request,
    Response,
    RpcError,
    decode_message,
    encode_error,
    encode_notification,
    encode_request,
    encode_result,
)

__all__ = ["Connection", "Limits"]

RequestHandler = Callable[[str, Any], Awaitable[Any]]
NotificationHandler = Callable[[str, Any], Awaitable[None]]
LogFn = Callable[..., None]


@dataclass(frozen=True)
class Limits:
    notification_queue: int = 1024
    """Plugin → host notifications waiting to be handled; more are dropped and counted."""
    event_topics: int = 256
    """Topics with a delivery waiting for a plugin; the oldest topic is dropped beyond it."""
    priority_queue: int = 1024
    """Requests, responses and keys waiting to be written; keys beyond it are dropped."""
    priority_bytes: int = 2 * MAX_BODY_BYTES
    """Bytes on the priority lane; past it the plugin counts as stalled (a crash)."""
    event_bytes: int = 2 * MAX_BODY_BYTES
    """Bytes of unsent deliveries; the oldest topics are dropped beyond it."""
    stdin_stall: float = 30.0
    """A write to the plugin blocked this long while more must be queued: stalled (a crash)."""
    inflight_from_plugin: int = 32
    """Plugin → host requests served at once; more get an error answer."""


class Connection:
    def __init__(
        self,
        name: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        on_request: RequestHandler,
        on_notification: NotificationHandler,
        log: LogFn,
        limits: Limits | None = None,
    ) -> None:
        self.name = name
        self.limits = limits or Limits()
        self._reader = reader
        self._writer = writer
        self._on_request = on_request
        self._on_notification = on_notification
        self._log = log
        loop = asyncio.get_running_loop()
        self.lost: asyncio.Future[str] = loop.create_future()
        """Resolves with a reason once the connection is unusable."""
        self._pending: dict[int, asyncio.Future[Response]] = {}
        self._next_id = 0
        self._priority: deque[bytes] = deque()
        self._priority_size = 0  # bytes in _priority
        self._events: OrderedDict[str, list[bytes]] = OrderedDict()
        self._events_size = 0  # bytes in _events
        self._blocked_since: float | None = None  # when the pending write started
        self._wake = asyncio.Event()
        self._inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(self.limits.notification_queue)
        self._serving: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self.activity = time.monotonic()
        self.dropped_notifications = 0
        self.dropped_events = 0
        self.dropped_keys = 0
        self._drop_warned = 0.0

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._read_loop(), name=f"plugin-{self.name}-read"),
            asyncio.create_task(self._write_loop(), name=f"plugin-{self.name}-write"),
            asyncio.create_task(self._inbox_loop(), name=f"plugin-{self.name}-inbox"),
        ]

    @property
    def inflight(self) -> int:
        """Requests to the plugin still waiting for an answer."""
        return len(self._pending)

    # -- host → plugin --------------------------------------------------------------------

    async def request(self, method: str, params: Any = None, timeout: float | None = None) -> Any:
        """Send a request and wait for its answer.

        Raises ``RpcError`` (the plugin's error answer), ``PluginTimeout`` or ``PluginCrashed``.
        """
        if self.lost.done():
            raise PluginCrashed(self.name, self.lost.result())
        self._next_id += 1
        rid = self._next_id
        body = encode_request(rid, method, params)
        _check_size(body)
        if not self._push(body):
            raise PluginCrashed(self.name, self.lost.result())
        fut: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        self.activity = time.monotonic()
        try:
            waits: set[asyncio.Future[Any]] = {fut, self.lost}
            await asyncio.wait(waits, timeout=timeout, return_when="FIRST_COMPLETED")
        finally:
            self._pending.pop(rid, None)
        if fut.done():
            response = fut.result()
            if response.error is not None:
                raise response.error.to_exception()
            return response.result
        fut.cancel()
        if self.lost.done():
            raise PluginCrashed(self.name, self.lost.result())
        raise PluginTimeout(self.name, f"{method} got no answer within {timeout:g}s")

    @property
    def queued_bytes(self) -> int:
        """Bytes on the priority lane not yet written to the plugin."""
        return self._priority_size

    def notify(self, method: str, params: Any = None, *, key: bool = False) -> bool:
        """Queue a notification on the priority lane; False if it was dropped."""
        if self.lost.done():
            return False
        if key and len(self._priority) >= self.limits.priority_queue:
            self.dropped_keys += 1
            return False
        body = encode_notification(method, params)
        _check_size(body)
        if not self._push(body):
            return False
        self.activity = time.monotonic()
        return True

    def post_event(self, topic: str, bodies: list[bytes]) -> None:
        """Queue one delivery (all chunks of one payload); it replaces an unsent one."""
        if self.lost.done():
            return
        if topic in self._events:
            self._events_size -= _size(self._events.pop(topic))
            self.dropped_events += 1
        elif len(self._events) >= self.limits.event_topics:
            self._events_size -= _size(self._events.popitem(last=False)[1])
            self.dropped_events += 1
        size = _size(bodies)
        while self._events and self._events_size + size > self.limits.event_bytes:
            self._events_size -= _size(self._events.popitem(last=False)[1])
            self.dropped_events += 1
        self._events[topic] = bodies
        self._events_size += size
        self._wake.set()

    def _push(self, body: bytes) -> bool:
        """Queue ``body`` on the priority lane; False (and the connection lost) when the
        plugin stopped reading: that lane cannot drop, so a stalled stdin is a crash."""
        if self.lost.done():
            return False
        blocked = self._blocked_since
        if blocked is not None and time.monotonic() - blocked > self.limits.stdin_stall:
            self.lose(f"stdin stalled: a write blocked for over {self.limits.stdin_stall:g}s")
            return False
        # over budget only counts while a write is stuck: a reading plugin may briefly have
        # several large answers queued in one loop turn
        if blocked is not None and self._priority_size + len(body) > self.limits.priority_bytes:
            self.lose(f"stdin stalled: over {self.limits.priority_bytes} bytes queued")
            return False
        self._priority.append(body)
        self._priority_size += len(body)
        self._wake.set()
        return True

    # -- teardown --------------------------------------------------------------------------

    def lose(self, reason: str) -> None:
        """Mark the connection dead (first reason wins); pending requests fail at once."""
        if not self.lost.done():
            self.lost.set_result(reason)

    async def close(self) -> None:
        self.lose("closed")
        current = asyncio.current_task()
        tasks = [t for t in (*self._tasks, *self._serving) if t is not current]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            self._writer.close()

    # -- loops -----------------------------------------------------------------------------

    async def _write_loop(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while True:
                    if self._priority:
                        body = self._priority.popleft()
                        self._priority_size -= len(body)
                        await self._write(body)
                    elif self._events:
                        _, bodies = self._events.popitem(last=False)
                        self._events_size -= _size(bodies)
                        for body in bodies:
                            await self._write(body)
                    else:
                        break
        except (ConnectionError, OSError, RuntimeError) as exc:
            self.lose(f"stdin closed: {exc}")

    async def _write(self, body: bytes) -> None:
        self._blocked_since = time.monotonic()  # _push measures how long the drain hangs
        try:
            await write_frame(self._writer, body)
        finally:
            self._blocked_since = None

    async def _read_loop(self) -> None:
        handled = 0
        try:
            while True:
                try:
                    body = await read_frame(self._reader)
                except FrameError as exc:
                    self.lose(f"malformed frame: {exc}")
                    return
                if body is None:
                    self.lose("stdout closed")
                    return
                self.activity = time.monotonic()
                self._dispatch(body)
                handled += 1
                if handled % 64 == 0:  # a flood of buffered frames must not starve the loop
                    await asyncio.sleep(0)
        except (ConnectionError, OSError) as exc:
            self.lose(f"stdout failed: {exc}")

    def _dispatch(self, body: bytes) -> None:
        try:
            msg = decode_message(body)
        except RpcError as exc:
            if exc.code == PARSE_ERROR:  # not JSON: the stream cannot be trusted any more
                self.lose(f"malformed message: {exc.message}")
            else:
                self._answer(encode_error(None, exc.code, _clip(exc.message)))
            return
        if isinstance(msg, Response):
            fut = self._pending.get(msg.id) if isinstance(msg.id, int) else None
            if fut is not None and not fut.done():
                fut.set_result(msg)
        elif isinstance(msg, Request):
            if len(self._serving) >= self.limits.inflight_from_plugin:
                limit = self.limits.inflight_from_plugin
                busy = f"busy: {limit} calls of this plugin in flight already; retry later"
                self._answer(encode_error(msg.id, BUSY, busy))
                return
            task = asyncio.create_task(self._serve(msg))
            self._serving.add(task)
            task.add_done_callback(self._serving.discard)
        else:
            try:
                self._inbox.put_nowait((msg.method, msg.params))
            except asyncio.QueueFull:
                self.dropped_notifications += 1
                now = time.monotonic()
                if now - self._drop_warned >= 1.0:  # one line a second, not one per drop
                    self._drop_warned = now
                    self._log(
                        "warn",
                        "plugin.notifications_dropped",
                        f"notification queue full; {self.dropped_notifications} dropped so far",
                        dropped=self.dropped_notifications,
                    )

    async def _serve(self, req: Request) -> None:
        try:
            result = await self._on_request(req.method, req.params)
            body = encode_result(req.id, result)
            _check_size(body)
        except RpcError as exc:  # messages may echo plugin input (the method): clip them
            body = encode_error(req.id, exc.code, _clip(exc.message), exc.data)
        except Exception as exc:  # a host bug answers the plugin; it never kills the host
            method = _clip(req.method, MAX_ECHO_CHARS)
            self._log("error", "plugin.host_error", f"{method} failed: {exc!r}")
            body = encode_error(req.id, INTERNAL_ERROR, _clip(f"{method} failed: {exc}"))
        self._answer(body)

    def _answer(self, body: bytes) -> None:
        self._push(body)

    async def _inbox_loop(self) -> None:
        while True:
            method, params = await self._inbox.get()
            try:
                await self._on_notification(method, params)
            except RpcError as exc:
                self._log("warn", "plugin.bad_notification", f"{method}: {exc.message}")
            except Exception as exc:
                self._log("error", "plugin.host_error", f"{method} failed: {exc!r}")


#: Longest error message sent to a plugin; a plugin's own input echoed back (a 1 MiB method
#: name in "method not found: …") must not cost the host that much per request.
MAX_ERROR_CHARS = 1024
#: Longest piece of plugin input (a method name) quoted in a message the host writes itself.
MAX_ECHO_CHARS = 200


def _clip(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more)"


def _size(bodies: list[bytes]) -> int:
    return sum(len(b) for b in bodies)


def _check_size(body: bytes) -> None:
    if len(body) > MAX_BODY_BYTES:
        raise RpcError(INVALID_PARAMS, f"message of {len(body)} bytes exceeds the frame limit")
