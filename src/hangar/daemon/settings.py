"""Every setting of the daemon, its value and where the value came from, for ``hangar config
show``; and the settings ``hangar config set`` may write (docs/agents.md#settings).

The daemon's own settings come from its environment (``DaemonConfig.from_env``); the
agents' allowlist from ``<home>/env.allow.toml``; the front ends' and beads' from
``<home>/config.toml``. The values shown are the ones this daemon runs with.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from hangar.adapters import tomlfile
from hangar.core.durations import format_duration
from hangar.daemon.config import SECRETS_BACKEND_ENV, DaemonConfig

__all__ = ["SETTABLE", "SettingView", "daemon_settings", "file_settings", "mask_url", "set_value"]


@dataclass(frozen=True)
class SettingView:
    key: str
    value: str
    source: str  # default | file | environment
    origin: str
    about: str


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (the user name stays: it says which)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _ms(value: float) -> str:
    return format_duration(int(value))


#: (key, environment variable(s), the value as shown, what it does)
_FROM_ENV: tuple[tuple[str, tuple[str, ...], Callable[[DaemonConfig], str], str], ...] = (
    ("home", ("AINB_HANGAR_HOME",), lambda c: str(c.paths.root), "the data home"),
    (
        "database.url",
        ("HANGAR_DATABASE_URL",),
        lambda c: mask_url(c.database_url),
        "the store (SQLite in the home, or PostgreSQL)",
    ),
    ("slots", ("HANGAR_MAX_SLOTS",), lambda c: str(c.slots), "runs at once on this daemon"),
    (
        "timeouts.inactivity",
        ("HANGAR_INACTIVITY_TIMEOUT",),
        lambda c: _ms(c.inactivity_ms),
        "a run with no progress this long is stopped (agents may set their own)",
    ),
    (
        "timeouts.max_runtime",
        ("HANGAR_MAX_RUNTIME",),
        lambda c: _ms(c.max_runtime_ms),
        "a run is stopped after this long (agents may set their own)",
    ),
    (
        "timeouts.kill_grace",
        ("HANGAR_KILL_GRACE",),
        lambda c: _ms(c.kill_grace_s * 1000),
        "SIGTERM to SIGKILL when a run is stopped",
    ),
    (
        "sweep.interval",
        ("HANGAR_SWEEP_INTERVAL",),
        lambda c: _ms(c.sweep_interval_s * 1000),
        "how often expired work is swept",
    ),
    (
        "sessions.launch_probe",
        ("HANGAR_LAUNCH_PROBE",),
        lambda c: _ms(c.launch_probe_s * 1000),
        "a session's agent must live this long for its create to succeed",
    ),
    (
        "sessions.prefix",
        ("HANGAR_SESSION_PREFIX", "HARNESS_SESSION_PREFIX"),
        lambda c: c.session_prefix,
        "the tmux name prefix of sessions",
    ),
    (
        "tmux.socket",
        ("HANGAR_TMUX_SOCKET",),
        lambda c: c.tmux_socket or "(the user's default tmux server)",
        "the tmux server sessions run on",
    ),
    (
        "log.level",
        ("HANGAR_LOG_LEVEL",),
        lambda c: c.log_level,
        "the daemon's log level (logs: hangar logs)",
    ),
    (
        "worktrees.keep",
        ("HANGAR_KEEP_WORKTREES",),
        lambda c: "yes" if c.keep_worktrees else "no (only those holding work)",
        "leave every ended run's worktree and branch",
    ),
)


def daemon_settings(config: DaemonConfig, env: Mapping[str, str]) -> list[SettingView]:
    """The settings read from the environment at start, with their sources."""
    rows = []
    for key, names, show, about in _FROM_ENV:
        named = next((n for n in names if env.get(n)), None)
        rows.append(
            SettingView(
                key=key,
                value=show(config),
                source="environment" if named else "default",
                origin=named or names[0],
                about=about,
            )
        )
    return rows


def secrets_row(describe: str, env: Mapping[str, str]) -> SettingView:
    return SettingView(
        key="secrets.backend",
        value=describe,
        source="environment" if env.get(SECRETS_BACKEND_ENV) else "default",
        origin=SECRETS_BACKEND_ENV,
        about="where agents' API keys are kept (hangar secrets)",
    )


@dataclass(frozen=True)
class Settable:
    """A key of ``<home>/config.toml`` that ``config set`` writes."""

    section: str
    name: str
    about: str
    default: str
    check: Callable[[str], str]


def _directory(value: str) -> str:
    path = Path(value)
    if not path.is_absolute():
        raise ValueError(f"{value!r} is not an absolute path")
    if not path.is_dir():
        raise ValueError(f"{value} is not a directory")
    return os.path.normpath(value)


SETTABLE: Mapping[str, Settable] = {
    "beads.dir": Settable(
        "beads",
        "dir",
        "the beads (bd) repository issues are mirrored to",
        "(off)",
        _directory,
    ),
}


def file_settings(config_path: Path) -> list[SettingView]:
    """The ``SETTABLE`` keys as ``config.toml`` has them now."""
    try:
        doc: dict[str, Any] = tomlfile.read(config_path)
    except tomlfile.TomlFileError:
        doc = {}
    rows = []
    for key, s in SETTABLE.items():
        table = doc.get(s.section)
        value = table.get(s.name) if isinstance(table, dict) else None
        rows.append(
            SettingView(
                key=key,
                value=str(value) if value is not None else s.default,
                source="file" if value is not None else "default",
                origin=f"{config_path} [{s.section}] {s.name}",
                about=s.about,
            )
        )
    return rows


def set_value(config_path: Path, key: str, value: str) -> SettingView:
    """Write ``key`` (empty ``value``: remove it) into ``config.toml``, keeping every other
    key; ``ValueError`` for an unknown key (naming the known ones) or a bad value."""
    s = SETTABLE.get(key)
    if s is None:
        raise ValueError(f"unknown setting {key!r}; settable: {', '.join(sorted(SETTABLE))}")
    checked = s.check(value) if value else None
    tomlfile.edit(config_path, s.section, {s.name: checked})
    return next(row for row in file_settings(config_path) if row.key == key)
