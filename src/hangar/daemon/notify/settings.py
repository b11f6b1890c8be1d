"""The notification knobs, read from the daemon's environment at boot (docs/notifications.md).

``HANGAR_NOTIFY_WINDOW`` (coalescing window, default 60s, ``0`` turns coalescing off),
``HANGAR_NOTIFY_TIMEOUT`` (how long a command, the desktop tool or a webhook request may
take, default 10s), ``HANGAR_NOTIFY_RETRY`` (the first wait before a webhook is tried
again, doubled each time, default 1s) and ``HANGAR_NOTIFY_ATTEMPTS`` (tries in all,
default 4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hangar.core.coalesce import DEFAULT_WINDOW_MS
from hangar.core.notify import RetryPolicy
from hangar.daemon.config import env_duration

__all__ = ["NotifySettings"]

#: messages waiting per channel; past it the oldest is dropped (and said so)
DEFAULT_QUEUE_LIMIT = 100
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class NotifySettings:
    window_s: float = DEFAULT_WINDOW_MS / 1000
    timeout_s: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    queue_limit: int = DEFAULT_QUEUE_LIMIT

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> NotifySettings:
        """A bad value is a ``ValueError`` naming its variable."""
        off = (env.get("HANGAR_NOTIFY_WINDOW") or "").strip() in ("0", "0s", "0ms")
        window = 0 if off else env_duration(env, "HANGAR_NOTIFY_WINDOW", DEFAULT_WINDOW_MS)
        timeout = env_duration(env, "HANGAR_NOTIFY_TIMEOUT", 10_000)
        first = env_duration(env, "HANGAR_NOTIFY_RETRY", 1_000)
        raw = env.get("HANGAR_NOTIFY_ATTEMPTS") or "4"
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_ATTEMPTS:
            raise ValueError(f"HANGAR_NOTIFY_ATTEMPTS must be 1 to {MAX_ATTEMPTS}, not {raw!r}")
        if timeout <= 0:
            raise ValueError("HANGAR_NOTIFY_TIMEOUT must be more than 0")
        return cls(
            window_s=window / 1000,
            timeout_s=timeout / 1000,
            retry=RetryPolicy(attempts=int(raw), first_s=first / 1000),
        )
