"""Blocking client for the CLI: one unix socket, no asyncio, no threads.

    with SyncClient.connect() as client:
        issues = client.request(calls.ISSUES_LIST, api.IssuesListParams()).issues

``request`` is the typed call (a ``proto.calls`` descriptor and its params struct in, the
result struct out); ``call`` sends any method name with plain values, for tests and benchmarks.

Notifications that arrive while a call waits for its response are queued and handed out by
``next_event``. Not thread-safe: one client per thread.
"""

from __future__ import annotations

import os
import socket
import time
from collections import deque
from types import TracebackType
from typing import Any, Final, TypeVar

import msgspec

from hangar.client import _common
from hangar.client.autostart import describe_connect_error, ensure_daemon, unreachable
from hangar.client.errors import ConnectionLost
from hangar.core.paths import HangarPaths
from hangar.proto import api, calls, jsonrpc, methods
from hangar.proto.framing import FrameDecoder, FrameError, encode_frame

__all__ = ["SyncClient"]

_RECV_BYTES: Final = 256 * 1024

P = TypeVar("P", bound=msgspec.Struct)
R = TypeVar("R", bound=msgspec.Struct)


class _Default:
    pass


_DEFAULT: Final = _Default()


class SyncClient:
    """An authenticated connection to the daemon. Build it with ``SyncClient.connect``."""

    def __init__(
        self,
        sock: socket.socket,
        paths: HangarPaths,
        *,
        call_timeout: float | None = None,
    ) -> None:
        #: the pid of the daemon this client started on connect, if it did
        self.started_daemon: int | None = None
        self.paths = paths
        self.call_timeout = call_timeout
        """Default seconds ``call`` waits for a response; ``None`` waits forever."""
        self.dropped_events = 0
        """Events discarded because more than ``MAX_QUEUED_EVENTS`` were waiting."""
        self._sock: socket.socket | None = sock
        self._decoder = FrameDecoder()
        self._next_id = 1
        self._pending: set[int] = set()
        self._responses: dict[int, jsonrpc.Response] = {}
        self._orphan_error: jsonrpc.ErrorObject | None = None
        self._events: deque[dict[str, Any]] = deque()
        #: what this connection may do, as the daemon answered hello
        self.scope = ""

    # -- lifecycle ------------------------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        paths: HangarPaths | None = None,
        *,
        autostart: bool = True,
        timeout: float = _common.CONNECT_TIMEOUT_S,
        call_timeout: float | None = None,
        token: str | None = None,
    ) -> SyncClient:
        """Connect and authenticate, starting the daemon first if needed (and allowed).

        ``timeout`` bounds the whole of it: autostart, connect and ``auth/hello``. The
        token said is ``token``, else ``$HANGAR_TOKEN``, else the daemon's token file.
        Raises ``DaemonUnreachable`` (no daemon) or ``RemoteError`` (token refused).
        """
        paths = HangarPaths.from_env() if paths is None else paths
        deadline = time.monotonic() + timeout
        started = None
        sock = _dial(paths, timeout)
        if isinstance(sock, str):
            if not autostart:
                raise unreachable(paths, sock)
            started = ensure_daemon(paths, timeout=_common.remaining(deadline))
            sock = _dial(paths, _common.remaining(deadline))
            if isinstance(sock, str):
                raise unreachable(paths, sock)
        client = cls(sock, paths, call_timeout=call_timeout)
        client.started_daemon = started
        try:
            chosen = _common.given_token(token)
            if chosen is not None:
                client._hello(chosen[0], deadline, chosen[1])
                return client
            token = _common.read_token(paths)
            if token is None and autostart:
                client.started_daemon = ensure_daemon(paths, timeout=_common.remaining(deadline))
                token = _common.read_token(paths)
            if token is None:
                raise _common.token_missing(paths)
            client._hello(token, deadline)
        except BaseException:
            client.close()
            raise
        return client

    def _hello(self, token: str, deadline: float, source: str | None = None) -> None:
        with _common.handshake_errors(self.paths, source):
            self.scope = self.request(
                calls.AUTH_HELLO,
                api.AuthHelloParams(token=token),
                timeout=_common.remaining(deadline),
            ).scope

    @property
    def closed(self) -> bool:
        return self._sock is None

    def close(self) -> None:
        """Close the connection (idempotent). Queued events stay readable."""
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- calls and events -----------------------------------------------------------------------

    def request(
        self,
        call: calls.Call[P, R],
        params: P,
        *,
        timeout: float | _Default | None = _DEFAULT,
    ) -> R:
        """Call ``call.method`` with ``params`` and return its result as ``call.result``.

        Raises as ``call`` does, and ``ResultMismatch`` if the result does not fit its type.
        """
        _common.check_params(call, params)
        return _common.decode_result(call, self.call(call.method, params, timeout=timeout))

    def call(
        self, method: str, params: Any = None, *, timeout: float | _Default | None = _DEFAULT
    ) -> Any:
        """Call ``method`` and return its result (plain Python values).

        Raises ``RemoteError`` for an error response, ``ConnectionLost`` if the daemon goes
        away, ``TimeoutError`` after ``timeout`` seconds (default ``call_timeout``); after a
        timeout the connection stays usable and the late response is discarded.
        """
        wait = self.call_timeout if isinstance(timeout, _Default) else timeout
        deadline = None if wait is None else time.monotonic() + wait
        req_id = self._next_id
        self._next_id += 1
        self._pending.add(req_id)
        try:
            self._send(jsonrpc.encode_request(req_id, method, params), deadline)
            while req_id not in self._responses:
                if self._orphan_error is not None:
                    error, self._orphan_error = self._orphan_error, None
                    raise _common.remote_error(error, method)
                if not self._receive(deadline):
                    raise TimeoutError(f"no response to {method} within {wait:g}s")
        finally:
            self._pending.discard(req_id)
        response = self._responses.pop(req_id)
        if response.error is not None:
            raise _common.remote_error(response.error, method)
        return response.result

    def next_event(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next ``hangar/event`` payload (``{"event": ..., ...}``), oldest first.

        Waits up to ``timeout`` seconds (``None``: forever; ``0``: only what already
        arrived) and returns ``None`` if nothing came. Raises ``ConnectionLost`` once the
        daemon has closed the connection and no queued event is left.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._events:
            if not self._receive(deadline):
                return None
        return self._events.popleft()

    # -- the wire -------------------------------------------------------------------------------

    def _live_socket(self) -> socket.socket:
        if self._sock is None:
            raise ConnectionLost("the connection to the Hangar daemon is closed")
        return self._sock

    def _send(self, body: bytes, deadline: float | None) -> None:
        sock = self._live_socket()
        try:
            sock.settimeout(None if deadline is None else _common.remaining(deadline))
            sock.sendall(encode_frame(body))
        except OSError as exc:  # TimeoutError included: a partial frame poisons the stream
            self.close()
            raise ConnectionLost(f"lost the connection to the Hangar daemon: {exc}") from None

    def _receive(self, deadline: float | None) -> bool:
        """Read once and route what arrived; ``False`` if ``deadline`` passed first."""
        sock = self._live_socket()
        if deadline is None:
            sock.settimeout(None)
        else:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            sock.settimeout(left)
        try:
            data = sock.recv(_RECV_BYTES)
        except TimeoutError:
            return False  # recv is all-or-nothing: the decoder is still in sync
        except OSError as exc:
            self.close()
            raise ConnectionLost(f"lost the connection to the Hangar daemon: {exc}") from None
        try:
            if not data:
                self._decoder.eof()
                raise ConnectionLost("the Hangar daemon closed the connection")
            bodies = self._decoder.feed(data)
        except FrameError as exc:
            self.close()
            raise ConnectionLost(f"bad frame from the Hangar daemon: {exc}") from None
        except ConnectionLost:
            self.close()
            raise
        for body in bodies:
            self._route(body)
        return True

    def _route(self, body: bytes) -> None:
        try:
            msg = _common.decode_incoming(body)
        except ConnectionLost:
            self.close()
            raise
        if isinstance(msg, jsonrpc.Response):
            if msg.id is None:
                if msg.error is not None:
                    self._orphan_error = msg.error
            elif isinstance(msg.id, int) and msg.id in self._pending:
                self._responses[msg.id] = msg
            # else: the late answer to a call that timed out
        elif isinstance(msg, jsonrpc.Notification):
            event = _common.event_payload(msg, methods.EVENT)
            if event is not None:
                if len(self._events) >= _common.MAX_QUEUED_EVENTS:
                    self._events.popleft()
                    self.dropped_events += 1
                self._events.append(event)
        else:  # the daemon asked us something: we serve no methods
            self._send(_common.refusal(msg), None)


def _dial(paths: HangarPaths, timeout: float) -> socket.socket | str:
    """A connected socket, or the reason there is none."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(max(timeout, 0.001))
    try:
        sock.connect(os.fspath(paths.socket))
    except OSError as exc:
        sock.close()
        return describe_connect_error(exc)
    return sock
