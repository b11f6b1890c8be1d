"""What the runtime raises to its caller. A plugin's own error answers arrive as ``RpcError``."""

from __future__ import annotations

import signal
from pathlib import Path

__all__ = [
    "PluginBadResult",
    "PluginCrashed",
    "PluginError",
    "PluginNotFound",
    "PluginQuarantined",
    "PluginTimeout",
    "ended",
    "exit_text",
]


class PluginError(Exception):
    def __init__(
        self, plugin_id: str, message: str, *, sep: str = ": ", log_path: Path | None = None
    ) -> None:
        """``sep`` " " for a message that reads on from the id ("plugin x exited …").
        ``log_path``: the plugin log that holds its stderr, when that is worth a look."""
        super().__init__(f"plugin {plugin_id}{sep}{message}")
        self.plugin_id = plugin_id
        self.message = message
        self.log_path = log_path


class PluginNotFound(PluginError):
    """No discovered plugin has that id (or CLI namespace)."""


class PluginQuarantined(PluginError):
    """It crashed too often; only ``reload`` brings it back."""

    def __init__(
        self, plugin_id: str, message: str, *, reason: str = "", log_path: Path | None = None
    ) -> None:
        """``reason``: its last crash, as recorded."""
        super().__init__(plugin_id, message, log_path=log_path)
        self.reason = reason


class PluginTimeout(PluginError):
    """A request got no answer in time; the plugin keeps running."""


class PluginCrashed(PluginError):
    """The plugin died (or broke the protocol and was killed) before answering, or could
    not be started."""

    def __init__(
        self,
        plugin_id: str,
        message: str,
        *,
        exit_code: int | None = None,
        log_path: Path | None = None,
    ) -> None:
        """``exit_code``: its own exit status (negative: the signal), when it exited by
        itself; the message then says so ("exited with status 1")."""
        sep = " " if exit_code is not None else ": "
        super().__init__(plugin_id, message, sep=sep, log_path=log_path)
        self.exit_code = exit_code


class PluginBadResult(PluginError):
    """The plugin answered, but its result does not decode: its fault, not the caller's."""

    def __init__(self, plugin_id: str, method: str, detail: str) -> None:
        name = method.removeprefix("plugin/")
        super().__init__(plugin_id, f"returned an invalid {name} result: {detail}", sep=" ")
        self.method = method


def ended(code: int) -> str:
    """How a process that exited by itself ended, as "plugin x <this>"."""
    if code < 0:
        return f"was killed by {exit_text(code)}"
    return f"exited with status {code}"


def exit_text(code: int | None) -> str:
    """An exit status for a message: "1", "signal SIGKILL" (negative), "unknown" (None)."""
    if code is None:
        return "unknown"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return str(code)
