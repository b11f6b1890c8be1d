"""What a front end can get wrong when talking to the daemon, as three exception types
(and ``ResultMismatch``, a ``RemoteError`` raised on this side of the socket)."""

from __future__ import annotations

from typing import Any

from hangar.proto.jsonrpc import RpcError

__all__ = ["ConnectionLost", "DaemonUnreachable", "RemoteError", "ResultMismatch"]


class DaemonUnreachable(Exception):
    """No usable daemon: nothing listening, autostart disabled or failed, missing token.

    The message's first line says what was tried and where to look; ``detail`` (if any) holds
    the last lines of the daemon's stderr log and is appended after a newline.
    """

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(f"{message}\n{detail}" if detail else message)
        self.summary = message
        self.detail = detail

    @property
    def brief(self) -> str:
        """The summary, plus the daemon's own last word when it died starting up."""
        lines = [ln.strip() for ln in self.detail.splitlines() if ln.strip()]
        return f"{self.summary} ({lines[-1]})" if lines else self.summary


class ConnectionLost(DaemonUnreachable):
    """The daemon closed the connection (or broke the framing) while we were using it."""


class RemoteError(RpcError):
    """The daemon answered a call with a JSON-RPC error: ``code``, ``message``, ``data``."""

    def __init__(self, code: int, message: str, data: Any = None, *, method: str = "") -> None:
        super().__init__(code, message, data)
        self.method = method


class ResultMismatch(RemoteError):
    """The daemon answered, but its result does not fit the method's result type: a daemon
    of another version, most likely. Code -32603."""
