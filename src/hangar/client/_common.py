"""Pieces the sync and async clients share: token, handshake errors, message routing."""

from __future__ import annotations

import time
from typing import Any

from hangar.client.autostart import unreachable
from hangar.client.errors import ConnectionLost, DaemonUnreachable, RemoteError
from hangar.core.paths import HangarPaths
from hangar.proto import jsonrpc

MAX_QUEUED_EVENTS = 10_000
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


def auth_failed(paths: HangarPaths, exc: RemoteError) -> RemoteError:
    return RemoteError(
        exc.code,
        f"the Hangar daemon at {paths.socket} refused the token in {paths.token}: {exc.message}",
        exc.data,
        method=exc.method,
    )


def auth_lost(paths: HangarPaths, exc: ConnectionLost) -> ConnectionLost:
    return ConnectionLost(
        f"the Hangar daemon at {paths.socket} closed the connection during the handshake "
        f"({exc.summary}); see {paths.daemon_stderr}"
    )


def decode_incoming(body: bytes) -> jsonrpc.Message:
    """Decode a frame from the daemon; a malformed one means the connection is unusable."""
    try:
        return jsonrpc.decode_message(body)
    except jsonrpc.RpcError as exc:
        raise ConnectionLost(f"the Hangar daemon sent an invalid message: {exc.message}") from None


def remote_error(error: jsonrpc.ErrorObject, method: str = "") -> RemoteError:
    return RemoteError(error.code, error.message, error.data, method=method)


def event_payload(msg: jsonrpc.Notification, event_method: str) -> dict[str, Any] | None:
    """The event dict carried by a ``hangar/event`` notification, else ``None``."""
    if msg.method != event_method or not isinstance(msg.params, dict):
        return None
    return msg.params
