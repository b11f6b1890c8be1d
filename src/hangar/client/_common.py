"""Pieces the sync and async clients share: token, handshake errors, message routing."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from hangar.client.autostart import unreachable
from hangar.client.errors import ConnectionLost, DaemonUnreachable, RemoteError
from hangar.core.paths import HangarPaths
from hangar.proto import jsonrpc

MAX_QUEUED_EVENTS = 10_000
#: connect + autostart + hello. A daemon that dies at boot is reported at once; a slow
#: one (a loaded machine, a cold bytecode cache) gets this long before we give up on it.
CONNECT_TIMEOUT_S = 30.0
"""Events kept for a reader that is not keeping up; the oldest are dropped beyond this.

A dropped event heals on the next snapshot (DESIGN: the UI folds events, lists reconcile)."""


def read_token(paths: HangarPaths) -> str | None:
    try:
        token = paths.token.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise unreachable(paths, f"cannot read the token file {paths.token}: {exc}") from None
    return token or None


def token_missing(paths: HangarPaths) -> DaemonUnreachable:
    return unreachable(
        paths, f"the daemon is listening but its token file {paths.token} is missing"
    )


def remaining(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


@contextlib.contextmanager
def handshake_errors(paths: HangarPaths) -> Iterator[None]:
    """Turn a failed ``auth/hello`` into an error that names the socket and the token file."""
    try:
        yield
    except RemoteError as exc:
        raise RemoteError(
            exc.code,
            f"the Hangar daemon at {paths.socket} refused the token in {paths.token}: "
            f"{exc.message}",
            exc.data,
            method=exc.method,
        ) from None
    except ConnectionLost as exc:
        raise ConnectionLost(
            f"the Hangar daemon at {paths.socket} closed the connection during the handshake "
            f"({exc.summary}); see {paths.daemon_stderr}"
        ) from None
    except TimeoutError:
        raise unreachable(paths, "no answer to auth/hello (daemon stuck?)") from None


def decode_incoming(body: bytes) -> jsonrpc.Message:
    """Decode a frame from the daemon; a malformed one means the connection is unusable."""
    try:
        return jsonrpc.decode_message(body)
    except jsonrpc.RpcError as exc:
        raise ConnectionLost(f"the Hangar daemon sent an invalid message: {exc.message}") from None


def remote_error(error: jsonrpc.ErrorObject, method: str = "") -> RemoteError:
    return RemoteError(error.code, error.message, error.data, method=method)


def refusal(msg: jsonrpc.Request) -> bytes:
    """The answer to a request from the daemon: clients serve no methods."""
    return jsonrpc.encode_error(msg.id, jsonrpc.METHOD_NOT_FOUND, f"method not found: {msg.method}")


def event_payload(msg: jsonrpc.Notification, event_method: str) -> dict[str, Any] | None:
    """The event dict carried by a ``hangar/event`` notification, else ``None``."""
    if msg.method != event_method or not isinstance(msg.params, dict):
        return None
    return msg.params
