"""The words and knobs of a plugin's lifecycle: its states, and the timings the supervisor
and the host keep to (backoff, quarantine window, waits, reaping).

A module of its own so the host, its services and the supervisor share them without
importing one another.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["PluginState", "Policy"]


class PluginState(enum.StrEnum):
    IDLE = "idle"
    SPAWNING = "spawning"
    RUNNING = "running"
    BACKOFF = "backoff"
    QUARANTINED = "quarantined"
    SHUTTING_DOWN = "shutting_down"


@dataclass(frozen=True)
class Policy:
    backoff_initial: float = 0.25
    backoff_max: float = 5.0
    crash_window: float = 60.0
    max_crashes: int = 3
    request_timeout: float = 10.0
    """Default wait for a plugin's answer (render, init …)."""
    cli_timeout: float = 600.0
    """``plugin/cli_dispatch`` may run a real command: it gets longer."""
    start_timeout: float = 15.0
    """How long a caller waits for a plugin to reach Running (spawn + init + backoff)."""
    shutdown_grace: float = 5.0
    provider_wait: float = 5.0
    """``host/snapshot/get`` waits this long for a provider's first publish."""
    reap_interval: float = 1.0
    stderr_lines_per_sec: int = 200

    def backoff(self, crashes: int) -> float:
        return min(self.backoff_initial * 2.0 ** max(0, crashes - 1), self.backoff_max)
