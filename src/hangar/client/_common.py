"""Pieces the sync and async clients share: token, handshake errors, message routing."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import Any, TypeVar

import msgspec

from hangar.client.autostart import unreachable
from hangar.client.errors import ConnectionLost, DaemonUnreachable, RemoteError, ResultMismatch
from hangar.core.paths import HangarPaths
from hangar.proto import jsonrpc
from hangar.proto.calls import Call

R = TypeVar("R", bound=msgspec.Struct)

MAX_QUEUED_EVENTS = 10_000
#: connect + autostart + hello. A daemon that dies at boot is reported at once; a slow
#: one (a loaded machine, a cold bytecode cache) gets this long before we give up on it.
CONNECT_TIMEOUT_S = 30.0
"""Events kept for a reader that is not keeping up; the oldest are dropped beyond this.

A dropped event heals on the next snapshot (DESIGN: the UI folds events, lists reconcile)."""


#: a personal token (``ainb_…``) to say hello with instead of the daemon's token file
TOKEN_ENV = "HANGAR_TOKEN"


def given_token(token: str | None) -> tuple[str, str] | None:
    """The token a caller chose (an argument, else ``$HANGAR_TOKEN``) and where it came
    from, for error messages; None: use the daemon's token file."""
    if token:
        return token, "the token given"
    env = os.environ.get(TOKEN_ENV, "").strip()
    if env:
        return env, f"${TOKEN_ENV}"
    return None


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
def handshake_errors(paths: HangarPaths, source: str | None = None) -> Iterator[None]:
    """Turn a failed ``auth/hello`` into an error that names the socket and the token
    (``source``: where a chosen token came from; the token file otherwise)."""
    try:
        yield
    except RemoteError as exc:
        where = source or f"the token in {paths.token}"
        raise RemoteError(
            exc.code,
            f"the Hangar daemon at {paths.socket} refused {where}: {exc.message}",
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


def check_params(call: Call[Any, Any], params: msgspec.Struct) -> None:
    """A typed call takes exactly its params struct: a look-alike would fail at the daemon
    with a message about unknown fields instead of here, naming both types."""
    if type(params) is not call.params:
        raise TypeError(f"{call.method} takes {call.params.__name__}, not {type(params).__name__}")


def decode_result(call: Call[Any, R], raw: Any) -> R:
    try:
        return call.decode_result(raw)
    except msgspec.ValidationError as exc:
        raise ResultMismatch(
            jsonrpc.INTERNAL_ERROR,
            f"the Hangar daemon's answer to {call.method} does not fit this client ({exc}); "
            "is the daemon the same version as the client?",
            method=call.method,
        ) from None


def refusal(msg: jsonrpc.Request) -> bytes:
    """The answer to a request from the daemon: clients serve no methods."""
    return jsonrpc.encode_error(msg.id, jsonrpc.METHOD_NOT_FOUND, f"method not found: {msg.method}")


def event_payload(msg: jsonrpc.Notification, event_method: str) -> dict[str, Any] | None:
    """The event dict carried by a ``hangar/event`` notification, else ``None``."""
    if msg.method != event_method or not isinstance(msg.params, dict):
        return None
    return msg.params
