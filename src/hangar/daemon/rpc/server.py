"""The unix-socket JSON-RPC server: peer-uid gate, auth first frame, one writer per connection,
and every call admitted against the scope of the connection's token (``rpc/auth.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import time
from pathlib import Path
from typing import Any

from hangar.daemon.events import Subscription
from hangar.daemon.rpc.auth import Authenticator, Grant
from hangar.proto import jsonrpc, methods
from hangar.proto.auth import HelloResult
from hangar.proto.framing import FrameError, encode_frame, read_frame
from hangar.proto.routes import RouteTable

AUTH_FIRST_FRAME_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = float(os.environ.get("AINB_HANGAR_RPC_IDLE_MS", "600000")) / 1000
SUBSCRIBED_IDLE_TIMEOUT_S = (
    float(os.environ.get("AINB_HANGAR_RPC_SUBSCRIBED_IDLE_MS", str(24 * 3600 * 1000))) / 1000
)
MAX_CONNECTIONS = 256
#: how long requests in flight may still finish after their client stopped sending
HALF_CLOSE_GRACE_S = 30.0
OUTBOX_LIMIT = 10_000


def peer_uid(sock: socket.socket) -> int:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


class Connection:
    """One client. Every frame leaves through ``outbox`` so responses and pushed events
    never interleave inside a frame."""

    def __init__(self, server: RpcServer, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.writer = writer
        self.outbox: asyncio.Queue[bytes | None] = asyncio.Queue(OUTBOX_LIMIT)
        self.authenticated = False
        #: what its token may do; set by hello
        self.grant: Grant | None = None
        #: its token stopped being good: it is closing, nothing more is answered
        self.hung_up = False
        self.closed = False
        self.opened_at = time.monotonic()
        #: when its last frame arrived: the oldest idle connection gives way under pressure
        self.last_active = self.opened_at
        self.subscription: Subscription | None = None
        self._pump: asyncio.Task[None] | None = None
        #: requests being handled: a connection is not idle while one runs (a 10-minute
        #: wait_idle must get its answer), and they are cancelled when the client leaves
        self.in_flight: set[asyncio.Task[None]] = set()

    def send(self, body: bytes) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # a client that stops reading loses events
            self.outbox.put_nowait(encode_frame(body))

    def hang_up(self) -> None:
        """Send what is queued, then close (the client sees the end of the stream)."""
        self.hung_up = True
        with contextlib.suppress(asyncio.QueueFull):
            self.outbox.put_nowait(None)

    async def writer_loop(self) -> None:
        while True:
            frame = await self.outbox.get()
            if frame is None:
                self.writer.close()  # after the frames before it; the reader sees the end
                return
            self.writer.write(frame)
            await self.writer.drain()

    async def attach_subscription(self, sub: Subscription) -> None:
        if self.closed:  # the client left while its subscribe was in flight
            await sub.close()
            return
        await self._detach()
        self.subscription = sub

        async def pump() -> None:
            async for payload in sub.stream():
                self.send(b'{"jsonrpc":"2.0","method":"hangar/event","params":' + payload + b"}")

        self._pump = asyncio.create_task(pump())

    async def _detach(self) -> None:
        if self._pump:
            self._pump.cancel()
            self._pump = None
        if self.subscription is not None:
            sub, self.subscription = self.subscription, None
            await sub.close()

    async def close(self) -> None:
        self.closed = True
        await self._detach()


class RpcServer:
    def __init__(
        self,
        socket_path: Path,
        routes: RouteTable[Connection],
        auth: Authenticator,
        log: Any,
    ) -> None:
        self.socket_path = socket_path
        self.routes = routes
        self.auth = auth
        self.log = log
        self.connections: set[Connection] = set()
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        # the caller holds the instance lock, so a socket file here is stale
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(
                self._on_client, path=str(self.socket_path), limit=2**16
            )
        finally:
            os.umask(old)
        os.chmod(self.socket_path, 0o600)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            await conn.close()
            conn.writer.close()
        for t in list(self._tasks):
            t.cancel()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        try:
            uid = peer_uid(sock)
        except OSError:
            uid = -1
        if uid != os.getuid():
            self.log.warning("rejected peer of another uid", peer_uid=uid)
            writer.close()
            return
        if len(self.connections) >= MAX_CONNECTIONS and not self._make_room():
            self.log.warning("connection limit reached, every connection busy; refusing client")
            writer.close()
            return
        conn = Connection(self, writer)
        self.connections.add(conn)
        pump = asyncio.create_task(conn.writer_loop())
        try:
            await self._serve(conn, reader)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.connections.discard(conn)
            for task in list(conn.in_flight):
                task.cancel()  # nobody is left to read the answer
            await conn.close()
            conn.outbox.put_nowait(None) if not conn.outbox.full() else None
            with contextlib.suppress(TimeoutError, ConnectionError):
                await asyncio.wait_for(pump, 2.0)
            pump.cancel()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _finish_in_flight(self, conn: Connection) -> None:
        """A client may half-close after its last request (``nc -U``, a script): its answers
        still go out. A peer that closed altogether is not waited for longer than
        ``HALF_CLOSE_GRACE_S``: what is still running then is cancelled."""
        if conn.in_flight:
            await asyncio.wait(set(conn.in_flight), timeout=HALF_CLOSE_GRACE_S)

    def _make_room(self) -> bool:
        """At the limit, the connection that matters least goes, so a client with the right
        token always gets in: one still unauthenticated (oldest first), else the longest
        idle authenticated one, a subscriber last. A connection with a request in flight
        is never taken. False when every connection is busy."""
        idle = [c for c in self.connections if not c.in_flight and not c.closed]
        if not idle:
            return False
        victim = min(
            idle, key=lambda c: (c.authenticated, c.subscription is not None, c.last_active)
        )
        self.log.warning(
            "connection limit reached; closing the least needed connection",
            authenticated=victim.authenticated,
            idle_s=round(time.monotonic() - victim.last_active, 1),
        )
        self.connections.discard(victim)
        victim.writer.close()  # its reader sees the end and its handler cleans up
        return True

    async def _serve(self, conn: Connection, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                body = await self._next_frame(conn, reader)
            except TimeoutError:
                if not conn.authenticated:
                    conn.send(jsonrpc.encode_error(None, jsonrpc.UNAUTHORIZED, "auth timeout"))
                return
            except FrameError as exc:
                # the stream cannot be resynchronised after a framing error: answer and close
                self.log.warning("bad frame", error=str(exc))
                conn.send(jsonrpc.encode_error(None, jsonrpc.PARSE_ERROR, f"bad frame: {exc}"))
                return
            if body is None:  # the client is done sending: answer what it asked, then close
                if not conn.hung_up:
                    await self._finish_in_flight(conn)
                return
            conn.last_active = time.monotonic()
            try:
                msg = jsonrpc.decode_message(body)
            except jsonrpc.RpcError as exc:
                conn.send(jsonrpc.encode_error(exc.request_id, exc.code, exc.message))
                if not conn.authenticated:
                    return  # the first frame must be auth/hello, nothing else
                continue
            if not isinstance(msg, jsonrpc.Request | jsonrpc.Notification):
                if not conn.authenticated:
                    conn.send(
                        jsonrpc.encode_error(None, jsonrpc.UNAUTHORIZED, "auth/hello required")
                    )
                    return
                continue  # clients do not send responses; ignore them
            if not conn.authenticated:
                if not await self._authenticate(conn, msg):
                    return
                continue
            if isinstance(msg, jsonrpc.Notification):
                continue  # no client → daemon notifications are defined
            t = asyncio.create_task(self._dispatch(conn, msg))
            self._tasks.add(t)
            t.add_done_callback(self._tasks.discard)
            conn.in_flight.add(t)
            t.add_done_callback(conn.in_flight.discard)

    async def _next_frame(self, conn: Connection, reader: asyncio.StreamReader) -> bytes | None:
        """The next frame; TimeoutError once the connection idles past its limit. A request
        still being handled keeps the connection alive, and a half-read frame is never
        abandoned (that would desynchronise the stream)."""
        read = asyncio.ensure_future(read_frame(reader))
        try:
            while True:
                if not conn.authenticated:  # one deadline from connect, however it trickles
                    timeout = conn.opened_at + AUTH_FIRST_FRAME_TIMEOUT_S - time.monotonic()
                    if timeout <= 0:
                        raise TimeoutError
                elif conn.subscription is not None:
                    timeout = SUBSCRIBED_IDLE_TIMEOUT_S
                else:
                    timeout = IDLE_TIMEOUT_S
                done, _ = await asyncio.wait({read}, timeout=timeout)
                if done:
                    return read.result()
                if not conn.authenticated or not conn.in_flight:
                    raise TimeoutError
        finally:
            if not read.done():
                read.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await read

    async def _authenticate(self, conn: Connection, msg: Any) -> bool:
        token = msg.params.get("token") if isinstance(msg.params, dict) else None
        msg_id = getattr(msg, "id", None)
        if msg.method != methods.AUTH_HELLO:
            conn.send(jsonrpc.encode_error(msg_id, jsonrpc.UNAUTHORIZED, "auth/hello required"))
            return False
        try:
            if not isinstance(token, str):
                raise jsonrpc.RpcError(jsonrpc.UNAUTHORIZED, "unauthorized")
            grant = await self.auth.hello(token)
        except jsonrpc.RpcError as exc:
            self.log.warning("rejected a token", why=exc.message)
            conn.send(jsonrpc.encode_error(msg_id, jsonrpc.UNAUTHORIZED, exc.message))
            return False
        conn.authenticated = True
        conn.grant = grant
        if msg_id is not None:
            hello = HelloResult(scope=grant.scope, token_id=grant.token_id)
            conn.send(jsonrpc.encode_result(msg_id, hello))
        return True

    def hang_up_token(self, token_id: str) -> None:
        """A token was revoked: every connection holding it is told so, and closed."""
        for conn in list(self.connections):
            if conn.grant is not None and conn.grant.token_id == token_id and not conn.hung_up:
                conn.send(jsonrpc.encode_error(None, jsonrpc.UNAUTHORIZED, "token revoked"))
                conn.hang_up()

    async def _dispatch(self, conn: Connection, req: Any) -> None:
        if conn.hung_up:
            return
        if req.method in self.routes:  # an unknown method is -32601, whoever asks
            try:
                assert conn.grant is not None  # authenticated
                await self.auth.admit(conn.grant, req.method)
            except jsonrpc.RpcError as exc:  # refused before its params are even decoded
                conn.send(jsonrpc.encode_error(req.id, exc.code, exc.message, exc.data))
                if exc.code == jsonrpc.UNAUTHORIZED:  # its token was revoked or has expired
                    conn.hang_up()
                return
            except Exception as exc:  # the token's row could not be read: nothing is let by
                self.log.exception("token check failed", method=req.method, error=str(exc))
                conn.send(
                    jsonrpc.encode_error(req.id, jsonrpc.INTERNAL_ERROR, f"internal error: {exc}")
                )
                return
        try:
            result = await self.routes.dispatch(conn, req.method, req.params)
            conn.send(jsonrpc.encode_result(req.id, result))  # msgspec encodes Structs as-is
        except jsonrpc.RpcError as exc:
            conn.send(jsonrpc.encode_error(req.id, exc.code, exc.message, exc.data))
        except Exception as exc:
            self.log.exception("handler failed", method=req.method, error=str(exc))
            conn.send(
                jsonrpc.encode_error(req.id, jsonrpc.INTERNAL_ERROR, f"internal error: {exc}")
            )
