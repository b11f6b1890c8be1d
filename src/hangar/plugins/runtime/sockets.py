"""Unix-socket streams for ``host/unix_socket_dial`` / ``_send`` / ``_close``.

What the peer sends reaches the dialling plugin as ``plugin/handle_event`` on
``socket:<stream_id>`` with a ``SocketEvent`` payload (``data`` / ``eof`` / ``error``).
Buffers are bounded both ways: reading pauses while the plugin's connection has
``RECV_BACKLOG`` bytes waiting (the peer sees back-pressure, nothing is dropped); a send
that would leave more than ``SEND_BUFFER`` bytes unwritten closes the stream with an
``error`` event. Streams close when their plugin stops or crashes, or the host closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass

from hangar.plugins import protocol as p
from hangar.plugins.runtime.connection import Connection
from hangar.proto.jsonrpc import INTERNAL_ERROR, RpcError

__all__ = ["MAX_STREAMS", "RECV_BACKLOG", "SEND_BUFFER", "SocketStreams"]

#: Streams one plugin may hold open at once.
MAX_STREAMS = 16
#: Bytes queued for the plugin past which the host stops reading the socket for a while.
RECV_BACKLOG = 1024 * 1024
#: Bytes accepted from the plugin but not yet written to the socket.
SEND_BUFFER = 4 * 1024 * 1024
_READ_CHUNK = 64 * 1024
_DIAL_TIMEOUT = 5.0


@dataclass
class _Stream:
    id: str
    plugin: str
    conn: Connection
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    task: asyncio.Task[None] | None = None
    closed: bool = False


class SocketStreams:
    def __init__(self, *, max_streams: int = MAX_STREAMS) -> None:
        self.max_streams = max_streams
        self._streams: dict[str, _Stream] = {}
        self._ids = itertools.count(1)

    def count(self, plugin: str) -> int:
        return sum(s.plugin == plugin for s in self._streams.values())

    async def dial(self, plugin: str, conn: Connection, path: str) -> str:
        """Connect to ``path`` (the gate's canonical form); the new stream's id."""
        if self.count(plugin) >= self.max_streams:
            raise RpcError(INTERNAL_ERROR, f"too many open sockets (at most {self.max_streams})")
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(path, limit=_READ_CHUNK), _DIAL_TIMEOUT
            )
        except TimeoutError:
            raise RpcError(INTERNAL_ERROR, f"dial {path}: timed out") from None
        except OSError as exc:
            raise RpcError(INTERNAL_ERROR, f"dial {path}: {exc.strerror or exc}") from None
        stream = _Stream(f"s{next(self._ids)}", plugin, conn, reader, writer)
        self._streams[stream.id] = stream
        stream.task = asyncio.create_task(self._pump(stream), name=f"socket-{plugin}-{stream.id}")
        if conn.lost.done():  # the plugin went away while we dialled
            self._close(stream)
            raise RpcError(INTERNAL_ERROR, "the plugin is going away")
        return stream.id

    def send(self, plugin: str, params: p.UnixSocketSendParams) -> None:
        stream = self._own(plugin, params.stream_id)
        if stream.writer.is_closing():
            self._fail(stream, "send on a closed stream")
            return
        if stream.writer.transport.get_write_buffer_size() + len(params.data) > SEND_BUFFER:
            self._fail(stream, f"send buffer full (over {SEND_BUFFER} bytes unwritten)")
            return
        stream.writer.write(params.data)

    def close(self, plugin: str, stream_id: str) -> None:
        self._close(self._own(plugin, stream_id))

    def _own(self, plugin: str, stream_id: str) -> _Stream:
        stream = self._streams.get(stream_id)
        if stream is None or stream.plugin != plugin:
            raise RpcError(p.INVALID_PARAMS, f"no such stream: {stream_id!r}")
        return stream

    def _post(self, stream: _Stream, event: p.SocketEvent) -> None:
        params = p.HandleEventParams(f"socket:{stream.id}", p.encode_event(event))
        stream.conn.notify(p.HANDLE_EVENT, params)

    def _fail(self, stream: _Stream, message: str) -> None:
        if not stream.closed:
            self._post(stream, p.SocketEvent("error", message=message))
        self._close(stream)

    def _close(self, stream: _Stream) -> None:
        stream.closed = True
        self._streams.pop(stream.id, None)
        if stream.task is not None and stream.task is not asyncio.current_task():
            stream.task.cancel()
        stream.writer.transport.abort()  # nothing the plugin wrote is owed after a close

    async def _pump(self, stream: _Stream) -> None:
        conn = stream.conn
        try:
            while not conn.lost.done():
                while conn.queued_bytes > RECV_BACKLOG and not conn.lost.done():
                    await asyncio.sleep(0.01)  # back-pressure: the peer waits, nothing drops
                data = await stream.reader.read(_READ_CHUNK)
                if not data:
                    self._post(stream, p.SocketEvent("eof"))
                    return  # the stream stays open for sends until the plugin closes it
                self._post(stream, p.SocketEvent("data", data=data))
        except OSError as exc:
            self._fail(stream, f"read failed: {exc.strerror or exc}")

    def close_plugin(self, plugin: str) -> None:
        for stream in list(self._streams.values()):
            if stream.plugin == plugin:
                self._close(stream)

    async def aclose(self) -> None:
        streams = list(self._streams.values())
        for stream in streams:
            self._close(stream)
        for stream in streams:
            if stream.task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await stream.task
