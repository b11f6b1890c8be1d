"""The capability gate: deny by default; an ungranted call gets -32001 ``capability denied: <cap>``.

File paths are canonicalised (symlinks resolved) before the root check, so a link inside a
granted root that points outside it is refused.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hangar.core.env_policy import pattern_matches
from hangar.plugins import protocol as p
from hangar.plugins.manifest import Manifest
from hangar.proto.jsonrpc import CAPABILITY_DENIED, INVALID_PARAMS, SECRET_ACCESS_DENIED, RpcError

__all__ = ["CapabilityGate", "fs_roots"]

# methods every plugin may call
_UNGATED = frozenset({p.LOG, p.ACTION_INVOKE})
_BOOL_GATED = {
    p.SNAPSHOT_PUBLISH: "event_bus",
    p.SNAPSHOT_SUBSCRIBE: "event_bus",
    p.SNAPSHOT_GET: "event_bus",
    p.WORKSPACE_SET_ACTIVE: "workspace:write",
    p.WORKSPACE_SET_DEFAULT: "workspace:write",
}
# most specific first, so a denial names the grant that would open that very path
_FS_READ_CAPS = ("read_claude_logs", "read_codex_logs", "write_plugin_data", "read_sessions")


def fs_roots(home: Path, data_dir: Path) -> dict[str, list[Path]]:
    """Capability → the directories it opens."""
    claude = home / ".claude" / "projects"
    codex = home / ".codex" / "sessions"
    return {
        "read_claude_logs": [claude],
        "read_codex_logs": [codex],
        "read_sessions": [claude, codex],
        "write_plugin_data": [data_dir],
    }


class CapabilityGate:
    def __init__(self, manifest: Manifest, data_dir: Path, home: Path | None = None) -> None:
        self.manifest = manifest
        self.data_dir = data_dir
        self.home = Path.home() if home is None else home
        self.denials = 0
        """-32001 answers (and dropped publishes) so far."""

    def check(self, method: str, params: Any) -> None:
        """Raise -32001 unless the manifest grants ``method`` (fs paths are checked later)."""
        try:
            self._check(method, params)
        except RpcError as exc:
            self.denials += exc.code == CAPABILITY_DENIED
            raise

    def _check(self, method: str, params: Any) -> None:
        if method in _UNGATED or method in (p.FS_READ_FILE, p.FS_READ_DIR, p.FS_WRITE_FILE):
            return
        cap = _BOOL_GATED.get(method)
        if cap is not None:
            self._need(cap)
            if method == p.SNAPSHOT_PUBLISH:  # event_bus alone does not open every topic
                topic = _str(params, "topic")
                provided = self.manifest.provides.snapshots
                if topic not in provided:
                    raise p.capability_denied("provides.snapshots", {"topic": topic})
        elif method == p.NETWORK_FETCH:
            self._need("network")
            allowed = self.manifest.grant("network")
            if isinstance(allowed, list):
                host = (urlsplit(_str(params, "url")).hostname or "").lower()
                if not any(fnmatch.fnmatch(host, pat.lower()) for pat in allowed):
                    raise p.capability_denied("network", {"host": host})
        elif method == p.EVENT_STREAM_SUBSCRIBE:
            self._need("event_stream_subscribe")
            allowed = self.manifest.grant("event_stream_subscribe")
            topic = _str(params, "topic")
            if isinstance(allowed, list) and not any(pattern_matches(a, topic) for a in allowed):
                raise p.capability_denied("event_stream_subscribe", {"topic": topic})
        elif method == p.SPAWN_MANAGED_SUBPROCESS:
            self._need("spawn_managed_subprocess")
            argv = params.get("argv") if isinstance(params, dict) else None
            first = argv[0] if isinstance(argv, list) and argv else ""
            program = first if isinstance(first, str) else ""
            allowed = self.manifest.grant("spawn_managed_subprocess")
            listed = isinstance(allowed, list) and (
                program in allowed or os.path.basename(program) in allowed
            )
            if not program or not listed:
                name = os.path.basename(program)
                raise p.capability_denied("spawn_managed_subprocess", {"program": name})
        elif method == p.UNIX_SOCKET_DIAL:
            self._need("unix_socket_dial")
            target = os.path.realpath(os.path.expanduser(_str(params, "path")))
            allowed = self.manifest.grant("unix_socket_dial")
            paths = [os.path.realpath(os.path.expanduser(a)) for a in allowed or []]  # type: ignore[union-attr]
            if target not in paths:
                raise p.capability_denied("unix_socket_dial", {"path": target})
        elif method == p.SECRET_STORE_GET:
            self._need("secrets:read")
            _str(params, "scope")
            key = _str(params, "key")
            allowed = self.manifest.grant("secrets:read")
            if not isinstance(allowed, list) or key not in allowed:
                raise RpcError(SECRET_ACCESS_DENIED, f"secret access denied: {key}", {"key": key})
        # anything else is not a gated host call: the dispatcher answers -32601

    def managed_program(self, argv: list[str], search_path: str | None) -> str:
        """The absolute program to exec for ``argv`` (after ``check``), else -32001.

        A listed bare name runs what ``search_path`` resolves it to; an absolute argv[0]
        runs if it is listed itself, or is that very resolved program (``/bin/ls`` for
        ``ls``), so a same-named binary elsewhere (``/tmp/x/ls``) is refused."""
        allowed = self.manifest.grant("spawn_managed_subprocess")
        listed = allowed if isinstance(allowed, list) else []
        program = argv[0] if argv else ""
        name = os.path.basename(program)
        if os.path.isabs(program) and program in listed:
            return program
        if name in listed and "/" not in name:
            found = shutil.which(name, path=search_path)
            if found is not None:
                found = os.path.abspath(found)
                if program == name or os.path.realpath(program) == os.path.realpath(found):
                    return found
        self.denials += 1
        raise p.capability_denied("spawn_managed_subprocess", {"program": name})

    def socket_path(self, raw: str) -> str:
        """The canonical form of a socket path ``check`` let through."""
        return os.path.realpath(os.path.expanduser(raw))

    def fs_path(self, raw: str, *, write: bool = False) -> Path:
        """The canonical path ``raw`` names, if a granted root holds it; else -32001."""
        try:
            return self._fs_path(raw, write)
        except RpcError as exc:
            self.denials += exc.code == CAPABILITY_DENIED
            raise

    def _fs_path(self, raw: str, write: bool) -> Path:
        path = Path(os.path.expanduser(raw))
        if not path.is_absolute():
            raise RpcError(INVALID_PARAMS, f"path must be absolute: {raw!r}")
        real = Path(os.path.realpath(path))
        roots = fs_roots(self.home, self.data_dir)
        caps = ("write_plugin_data",) if write else _FS_READ_CAPS
        needed: str | None = None
        for cap in caps:
            for root in roots[cap]:
                if _within(real, Path(os.path.realpath(root))):
                    if self.manifest.granted(cap):
                        return real
                    needed = needed or cap
        # outside every root (or under one that is not granted): name what would open it
        cap = needed or ("write_plugin_data" if write else "read_sessions")
        raise p.capability_denied(cap, {"path": str(real)})

    def _need(self, cap: str) -> None:
        if not self.manifest.granted(cap):
            raise p.capability_denied(cap)


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _str(params: Any, name: str) -> str:
    value = params.get(name) if isinstance(params, dict) else None
    if not isinstance(value, str):
        raise RpcError(INVALID_PARAMS, f"invalid params: {name!r} must be a string")
    return value
