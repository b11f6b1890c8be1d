"""Configuration of ``hangar mcp`` (docs/sessions.md#mcp-server): a JSON file, env overrides.

Every key has two env twins: the original ``HARNESS_*`` name (so existing ``.mcp.json`` entries
keep working) and a ``HANGAR_*`` name, which wins when both are set. Nothing here touches git
or tmux: the daemon resolves paths and enforces the session rules.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hangar.proto import api

__all__ = ["KEYS", "ConfigError", "McpConfig", "load_config"]

DEFAULT_CLAUDE_CMD = "claude"
DEFAULT_IDLE_THRESHOLD_MS = 5000
DEFAULT_SESSION_PREFIX = "harness-"
DEFAULT_MAX_WORKSPACES = 10
MAX_WORKSPACES_LIMIT = api.MAX_SESSIONS_LIMIT

#: file key -> env suffix (``HARNESS_<suffix>`` / ``HANGAR_<suffix>``)
KEYS: dict[str, str] = {
    "repoPath": "REPO_PATH",
    "worktreeRoot": "WORKTREE_ROOT",
    "storePath": "STORE_PATH",
    "claudeCmd": "CLAUDE_CMD",
    "idleThresholdMs": "IDLE_THRESHOLD_MS",
    "sessionPrefix": "SESSION_PREFIX",
    "maxWorkspaces": "MAX_WORKSPACES",
    "workspace": "WORKSPACE",
}
_NO_HARNESS_TWIN = {"workspace"}  # a Hangar concept: the original server never had it


class ConfigError(Exception):
    """A configuration the server refuses to start with (one line, names the culprit)."""


@dataclass(frozen=True)
class McpConfig:
    repo_path: str
    worktree_root: str | None = None
    command: list[str] = field(default_factory=lambda: [DEFAULT_CLAUDE_CMD])
    idle_threshold_ms: int = DEFAULT_IDLE_THRESHOLD_MS
    session_prefix: str = DEFAULT_SESSION_PREFIX
    max_workspaces: int = DEFAULT_MAX_WORKSPACES
    #: Hangar tenant slug or id; None = the daemon's default workspace
    workspace: str | None = None
    #: lines for stderr before serving: unknown keys, ignored storePath
    notes: tuple[str, ...] = ()

    def create_params(
        self,
        name: str,
        *,
        branch: str | None = None,
        base_branch: str | None = None,
        meta: dict[str, str] | None = None,
        prompt: str | None = None,
    ) -> api.SessionCreateParams:
        """A session_create call: the caller's choices plus what the configuration fixes."""
        return api.SessionCreateParams(
            name=name,
            branch=branch,
            base_branch=base_branch,
            meta=meta,
            prompt=prompt,
            repo_path=self.repo_path,
            worktree_root=self.worktree_root,
            command=list(self.command),
            session_prefix=self.session_prefix,
            max_sessions=self.max_workspaces,
            idle_threshold_ms=self.idle_threshold_ms,
        )


def load_config(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> McpConfig:
    """Merge defaults < file < ``HARNESS_*`` < ``HANGAR_*``, then validate."""
    env = os.environ if env is None else env
    cwd = os.getcwd() if cwd is None else cwd
    notes: list[str] = []
    raw: dict[str, tuple[Any, str]] = {}  # key -> (value, where it came from)
    if path is not None:
        for key, value in _read_file(Path(path)).items():
            if key in KEYS:
                raw[key] = (value, f"{key} in {path}")
            else:
                notes.append(f"warning: unknown config key {key!r} in {path} (ignored)")
    for key, suffix in KEYS.items():
        prefixes = ("HANGAR_",) if key in _NO_HARNESS_TWIN else ("HARNESS_", "HANGAR_")
        for prefix in prefixes:  # later wins
            name = prefix + suffix
            value = env.get(name, "")
            if value.strip():
                raw[key] = (value, name)

    if raw.get("storePath") is not None:
        notes.append(
            "note: storePath is ignored: sessions live in the Hangar daemon's store "
            "(see `hangar daemon status`)"
        )
    repo = _path(raw.get("repoPath"), cwd) or cwd
    worktree_root = _path(raw.get("worktreeRoot"), cwd)
    command = _command(raw.get("claudeCmd"))
    idle = _int(raw.get("idleThresholdMs"), DEFAULT_IDLE_THRESHOLD_MS)
    if idle <= 0:
        raise ConfigError(f"{_where(raw.get('idleThresholdMs'))} must be positive, got {idle}")
    max_ws = _int(raw.get("maxWorkspaces"), DEFAULT_MAX_WORKSPACES)
    if not 1 <= max_ws <= MAX_WORKSPACES_LIMIT:
        raise ConfigError(
            f"{_where(raw.get('maxWorkspaces'))} must be between 1 and {MAX_WORKSPACES_LIMIT}, "
            f"got {max_ws}"
        )
    return McpConfig(
        repo_path=repo,
        worktree_root=worktree_root,
        command=command,
        idle_threshold_ms=idle,
        session_prefix=_str(raw.get("sessionPrefix"), DEFAULT_SESSION_PREFIX),
        max_workspaces=max_ws,
        workspace=_str(raw.get("workspace"), "") or None,
        notes=tuple(notes),
    )


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"config file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a JSON object")
    return data


def _where(item: tuple[Any, str] | None) -> str:
    return item[1] if item is not None else "the default"


def _str(item: tuple[Any, str] | None, default: str) -> str:
    if item is None:
        return default
    value, where = item
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a string, got {json.dumps(value)}")
    return value


def _path(item: tuple[Any, str] | None, cwd: str) -> str | None:
    if item is None:
        return None
    text = _str(item, "").strip()
    # relative paths are taken from the server's working directory, as the original server did
    return os.path.normpath(os.path.join(cwd, os.path.expanduser(text)))


def _int(item: tuple[Any, str] | None, default: int) -> int:
    if item is None:
        return default
    value, where = item
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise ConfigError(f"{where} must be an integer, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int):  # bool is an int in Python
        raise ConfigError(f"{where} must be an integer, got {json.dumps(value)}")
    return value


def _command(item: tuple[Any, str] | None) -> list[str]:
    text = _str(item, DEFAULT_CLAUDE_CMD)
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise ConfigError(f"{_where(item)} is not a valid command line: {exc}") from None
    if not argv:
        raise ConfigError(f"{_where(item)} is empty")
    return argv
