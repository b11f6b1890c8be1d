"""asyncio client for the TUI, the MCP server, tests and benchmarks.

    client = await AsyncClient.connect()
    await client.request(calls.WORKSPACE_SUBSCRIBE, api.WorkspaceScoped(workspace_id="default"))
    async for event in client.events():
        ...

``request`` is the typed call (a ``proto.calls`` descriptor and its params struct in, the
result struct out); ``call`` sends any method name with plain values, for tests and benchmarks.

Calls may run concurrently: each gets an integer id and one reader task matches responses to
callers. ``hangar/event`` notifications go to a queue read by ``events()``/``next_event()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, TypeVar

import msgspec

from hangar.client import _common
from hangar.client.autostart import describe_connect_error, ensure_daemon, unreachable
from hangar.client.errors import ConnectionLost
from hangar.core.paths import HangarPaths
from hangar.proto import api, calls, jsonrpc, methods
from hangar.proto.framing import FrameError, read_frame, write_frame

__all__ = ["AsyncClient"]

_STREAM_LIMIT = 64 * 1024  # longest header line the reader buffers (>= MAX_HEADER_BYTES)

P = TypeVar("P", bound=msgspec.Struct)
R = TypeVar("R", bound=msgspec.Struct)


class AsyncClient:
    """An authenticated connection to the daemon. Build it with ``await AsyncClient.connect()``."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        paths: HangarPaths,
    ) -> None:
        self.paths = paths
        self.dropped_events = 0
        """Events discarded because more than ``MAX_QUEUED_EVENTS`` were waiting."""
        self._reader = reader
        self._writer = writer
        self._write_lock = asyncio.Lock()
        self._next_id = 1
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._lost: ConnectionLost | None = None
        #: what this connection may do, as the daemon answered hello
        self.scope = ""
        self._reader_task = asyncio.create_task(self._read_loop(), name="hangar-client-reader")

    # -- lifecycle ------------------------------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        paths: HangarPaths | None = None,
        *,
        autostart: bool = True,
        timeout: float = _common.CONNECT_TIMEOUT_S,
        token: str | None = None,
    ) -> AsyncClient:
        """Connect and authenticate, starting the daemon first if needed (and allowed).

        ``timeout`` bounds the whole of it. The token said is ``token``, else
        ``$HANGAR_TOKEN``, else the daemon's token file. Raises ``DaemonUnreachable`` (no
        daemon) or ``RemoteError`` (token refused).
        """
        paths = HangarPaths.from_env() if paths is None else paths
        deadline = time.monotonic() + timeout
        streams = await _dial(paths, timeout)
        if isinstance(streams, str):
            if not autostart:
                raise unreachable(paths, streams)
            await asyncio.to_thread(ensure_daemon, paths, timeout=_common.remaining(deadline))
            streams = await _dial(paths, _common.remaining(deadline))
            if isinstance(streams, str):
                raise unreachable(paths, streams)
        client = cls(*streams, paths)
        try:
            chosen = _common.given_token(token)
            if chosen is not None:
                await client._hello(chosen[0], deadline, chosen[1])
                return client
            token = _common.read_token(paths)
            if token is None and autostart:
                await asyncio.to_thread(ensure_daemon, paths, timeout=_common.remaining(deadline))
                token = _common.read_token(paths)
            if token is None:
                raise _common.token_missing(paths)
            await client._hello(token, deadline)
        except BaseException:
            await client.close()
            raise
        return client

    async def _hello(self, token: str, deadline: float, source: str | None = None) -> None:
        with _common.handshake_errors(self.paths, source):
            hello = await self.request(
                calls.AUTH_HELLO,
                api.AuthHelloParams(token=token),
                timeout=_common.remaining(deadline),
            )
        self.scope = hello.scope

    @property
    def closed(self) -> bool:
        return self._lost is not None

    async def close(self) -> None:
        """Close the connection (idempotent); pending calls fail with ``ConnectionLost``."""
        self._shutdown(ConnectionLost("the connection to the Hangar daemon is closed"))
        self._reader_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader_task
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- calls and events -----------------------------------------------------------------------

    async def request(
        self, call: calls.Call[P, R], params: P, *, timeout: float | None = None
    ) -> R:
        """Call ``call.method`` with ``params`` and return its result as ``call.result``.

        Raises as ``call`` does, and ``ResultMismatch`` if the result does not fit its type.
        """
        _common.check_params(call, params)
        return _common.decode_result(call, await self.call(call.method, params, timeout=timeout))

    async def call(self, method: str, params: Any = None, *, timeout: float | None = None) -> Any:
        """Call ``method`` and return its result (plain Python values).

        Raises ``RemoteError`` for an error response, ``ConnectionLost`` if the daemon goes
        away, ``TimeoutError`` after ``timeout`` seconds (the late response is discarded).
        """
        if self._lost is not None:
            raise self._lost
        req_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = future
        try:
            body = jsonrpc.encode_request(req_id, method, params)
            try:
                async with self._write_lock:
                    await write_frame(self._writer, body)
            except (OSError, RuntimeError) as exc:  # RuntimeError: transport already closing
                lost = ConnectionLost(f"lost the connection to the Hangar daemon: {exc}")
                self._shutdown(lost)
                raise lost from None
            if timeout is None:
                response: jsonrpc.Response = await future
            else:
                async with asyncio.timeout(timeout):
                    response = await future
        finally:
            self._pending.pop(req_id, None)
        if response.error is not None:
            raise _common.remote_error(response.error, method)
        return response.result

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Yield ``hangar/event`` payloads (``{"event": ..., ...}``) until the connection ends."""
        while True:
            event = await self._events.get()
            if event is None:
                self._events.put_nowait(None)  # let every other reader see the end too
                return
            yield event

    async def next_event(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next event payload, or ``None`` after ``timeout`` seconds.

        Raises ``ConnectionLost`` once the connection is gone and no queued event is left.
        """
        try:
            async with asyncio.timeout(timeout):
                event = await self._events.get()
        except TimeoutError:
            return None
        if event is None:
            self._events.put_nowait(None)
            assert self._lost is not None
            raise self._lost
        return event

    # -- the wire -------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        try:
            while True:
                body = await read_frame(self._reader)
                if body is None:
                    raise ConnectionLost("the Hangar daemon closed the connection")
                await self._route(_common.decode_incoming(body))
        except ConnectionLost as exc:
            self._shutdown(exc)
        except FrameError as exc:
            self._shutdown(ConnectionLost(f"bad frame from the Hangar daemon: {exc}"))
        except OSError as exc:
            self._shutdown(ConnectionLost(f"lost the connection to the Hangar daemon: {exc}"))
        finally:
            self._shutdown(ConnectionLost("the connection to the Hangar daemon is closed"))

    async def _route(self, msg: jsonrpc.Message) -> None:
        if isinstance(msg, jsonrpc.Response):
            if msg.id is None:
                # An error the daemon could not tie to a request: every waiting call gets it.
                if msg.error is not None:
                    for future in self._pending.values():
                        if not future.done():
                            future.set_exception(_common.remote_error(msg.error))
                return
            waiter = self._pending.get(msg.id) if isinstance(msg.id, int) else None
            if waiter is not None and not waiter.done():
                waiter.set_result(msg)
            return  # else: the late answer to a call that timed out or was cancelled
        if isinstance(msg, jsonrpc.Notification):
            event = _common.event_payload(msg, methods.EVENT)
            if event is not None:
                if self._events.qsize() >= _common.MAX_QUEUED_EVENTS:
                    self._events.get_nowait()
                    self.dropped_events += 1
                self._events.put_nowait(event)
            return
        # the daemon asked us something: we serve no methods
        async with self._write_lock:
            await write_frame(self._writer, _common.refusal(msg))

    def _shutdown(self, lost: ConnectionLost) -> None:
        """Mark the connection dead once: fail waiting calls, end the event stream."""
        if self._lost is not None:
            return
        self._lost = lost
        for future in self._pending.values():
            if not future.done():
                future.set_exception(lost)
        self._events.put_nowait(None)
        self._writer.close()


async def _dial(
    paths: HangarPaths, timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | str:
    """Connected streams, or the reason there are none."""
    try:
        async with asyncio.timeout(max(timeout, 0.001)):
            return await asyncio.open_unix_connection(os.fspath(paths.socket), limit=_STREAM_LIMIT)
    except OSError as exc:  # TimeoutError included
        return describe_connect_error(exc)
