"""Daemon settings, read once from the environment at boot."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from hangar.core.durations import parse_duration
from hangar.core.env_policy import ALLOW_FILE, DEFAULT_ALLOW, DeniedEntry, EnvPolicy
from hangar.core.paths import HangarPaths

DEFAULT_SLOTS = 20
#: watchdogs for agents that set none
DEFAULT_INACTIVITY_MS = 30 * 60 * 1000
DEFAULT_MAX_RUNTIME_MS = 9_000_000  # 2.5 h
#: a session's agent that exits within this window fails its create
DEFAULT_LAUNCH_PROBE_MS = 500
#: every create waits the whole window: a typo like ``5m`` must not make each one take minutes
MAX_LAUNCH_PROBE_MS = 30_000


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class DaemonConfig:
    paths: HangarPaths
    database_url: str
    slots: int
    inactivity_ms: int
    max_runtime_ms: int
    sweep_interval_s: float
    kill_grace_s: float
    env_policy: EnvPolicy
    log_level: str
    echo_logs: bool
    #: tmux server for sessions: None = the user's default server (so `tmux attach` just works)
    tmux_socket: str | None = None
    #: sessions' tmux prefix when a caller names none; reconciliation logs strays with it
    session_prefix: str = "harness-"
    #: how long a new session's agent must stay alive for create to succeed
    launch_probe_s: float = DEFAULT_LAUNCH_PROBE_MS / 1000
    #: HANGAR_KEEP_WORKTREES=1: leave every ended task's worktree and branch in place
    keep_worktrees: bool = False

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, echo_logs: bool = False
    ) -> DaemonConfig:
        env = os.environ if env is None else env
        paths = HangarPaths.from_env(env)
        url = env.get("HANGAR_DATABASE_URL") or paths.sqlite_url()
        try:
            slots = int(env.get("HANGAR_MAX_SLOTS", DEFAULT_SLOTS))
            inactivity = _duration(env, "HANGAR_INACTIVITY_TIMEOUT", DEFAULT_INACTIVITY_MS)
            max_runtime = _duration(env, "HANGAR_MAX_RUNTIME", DEFAULT_MAX_RUNTIME_MS)
            sweep = _duration(env, "HANGAR_SWEEP_INTERVAL", 30_000) / 1000
            grace = _duration(env, "HANGAR_KILL_GRACE", 3_000) / 1000
            probe_ms = _duration(env, "HANGAR_LAUNCH_PROBE", DEFAULT_LAUNCH_PROBE_MS)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if slots < 1:
            raise ConfigError("HANGAR_MAX_SLOTS must be at least 1")
        if probe_ms > MAX_LAUNCH_PROBE_MS:
            raise ConfigError(
                f"HANGAR_LAUNCH_PROBE must be at most {MAX_LAUNCH_PROBE_MS // 1000}s: "
                "every session create waits that long"
            )
        level = env.get("HANGAR_LOG_LEVEL", "info")
        if level not in ("trace", "debug", "info", "warn", "error"):
            raise ConfigError(
                f"HANGAR_LOG_LEVEL must be trace|debug|info|warn|error, not {level!r}"
            )
        return cls(
            paths=paths,
            database_url=url,
            slots=slots,
            inactivity_ms=inactivity,
            max_runtime_ms=max_runtime,
            sweep_interval_s=sweep,
            kill_grace_s=grace,
            env_policy=load_env_policy(paths),
            log_level=level,
            echo_logs=echo_logs,
            tmux_socket=env.get("HANGAR_TMUX_SOCKET") or None,
            session_prefix=env.get(
                "HANGAR_SESSION_PREFIX", env.get("HARNESS_SESSION_PREFIX", "harness-")
            ),
            launch_probe_s=probe_ms / 1000,
            keep_worktrees=env.get("HANGAR_KEEP_WORKTREES", "") not in ("", "0"),
        )


def _duration(env: Mapping[str, str], key: str, default_ms: int) -> int:
    raw = env.get(key)
    if not raw:
        return default_ms
    try:
        return parse_duration(raw)
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None


def load_env_policy(paths: HangarPaths) -> EnvPolicy:
    """``<home>/env.allow.toml`` ``[env].allow`` replaces the default allowlist when present;
    the deny family is applied regardless. An entry in the deny family (``LD_*``,
    ``LD_AUDIT``, ``PYTHON*``, ``BASH_*``, …) is a ``ConfigError`` naming the entry, its
    family and why, so the daemon refuses to start rather than run with a policy the user
    did not get."""
    path = paths.root / ALLOW_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return EnvPolicy(allow=tuple(DEFAULT_ALLOW))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        return EnvPolicy.from_toml(text)  # validates each entry; deny-family entries refused
    except DeniedEntry as exc:
        raise ConfigError(f"{path}: {exc}; remove it from [env].allow") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
