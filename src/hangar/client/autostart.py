"""Find the daemon, or start it: every front end calls ``ensure_daemon`` before connecting.

The daemon is a foreground program (``python -m hangar.daemon``); we detach it into its own
session with stdin from /dev/null and stdout/stderr appended to ``logs/daemon.stderr.log``, then
poll until its socket accepts and its token file exists. Two clients may start a daemon at the
same moment: the daemon's single-instance lock lets one win, the loser exits, and both clients
simply keep polling until the winner answers.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hangar.client.errors import DaemonUnreachable
from hangar.core.paths import HOME_ENV, HangarPaths

if TYPE_CHECKING:
    import subprocess

__all__ = [
    "DAEMON_CMD_ENV",
    "NO_AUTOSTART_ENV",
    "autostart_disabled",
    "daemon_command",
    "ensure_daemon",
    "probe_socket",
    "unreachable",
]

NO_AUTOSTART_ENV = "HANGAR_NO_AUTOSTART"
"""Set to ``1`` to never spawn a daemon: a missing daemon is an error instead."""

DAEMON_CMD_ENV = "HANGAR_DAEMON_CMD"
"""Tests only: a JSON argv list that replaces ``[sys.executable, "-m", "hangar.daemon"]``."""

POLL_INTERVAL_S = 0.02
EXIT_GRACE_S = 0.5
"""After our child exits, how long to keep polling in case another client's daemon won."""

_TAIL_LINES = 10
_TAIL_BYTES = 4096

_children: list[subprocess.Popen[bytes]] = []
"""Daemons we spawned, kept referenced (no ResourceWarning) and reaped when they exit."""


def autostart_disabled() -> bool:
    return os.environ.get(NO_AUTOSTART_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def daemon_command() -> list[str]:
    """The argv that starts the daemon (``HANGAR_DAEMON_CMD`` overrides it, for tests)."""
    raw = os.environ.get(DAEMON_CMD_ENV)
    if not raw:
        return [sys.executable, "-m", "hangar.daemon"]
    import json

    try:
        argv = json.loads(raw)
    except ValueError:
        argv = None
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise DaemonUnreachable(f"{DAEMON_CMD_ENV} must be a non-empty JSON list of strings")
    return argv


def probe_socket(path: Path, timeout: float = 1.0) -> str | None:
    """``None`` if something accepts connections at ``path``, else a short reason why not."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(os.fspath(path))
    except OSError as exc:
        return describe_connect_error(exc)
    finally:
        sock.close()
    return None


def describe_connect_error(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no socket file"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (stale socket file, nothing listening)"
    if isinstance(exc, TimeoutError):
        return "connection timed out"
    if exc.errno == errno.EACCES:
        return "permission denied"
    return exc.strerror or str(exc)


def unreachable(paths: HangarPaths, reason: str, *, detail: str = "") -> DaemonUnreachable:
    """The one-line error every front end shows when there is no daemon to talk to."""
    return DaemonUnreachable(
        f"cannot reach the Hangar daemon at {paths.socket}: {reason}; see {paths.daemon_stderr}",
        detail=detail,
    )


def ensure_daemon(paths: HangarPaths | None = None, *, timeout: float = 10.0) -> int | None:
    """Return once a daemon accepts connections at ``paths.socket`` and its token exists:
    the pid of the daemon this call started, None when one was running already.

    Spawns one (detached) if needed, unless ``HANGAR_NO_AUTOSTART=1``. Raises
    ``DaemonUnreachable`` if autostart is disabled, the daemon exits during startup, or it is
    not ready within ``timeout`` seconds.
    """
    paths = HangarPaths.from_env() if paths is None else paths
    reason = probe_socket(paths.socket)
    if reason is None and paths.token.exists():
        return None
    if autostart_disabled():
        why = reason or f"token file {paths.token} is missing"
        raise unreachable(paths, f"{why} (autostart disabled by {NO_AUTOSTART_ENV}=1)")
    deadline = time.monotonic() + timeout
    if reason is None:
        # Something listens but has not written its token yet: a daemon is booting.
        _wait_ready(paths, None, 0, deadline, timeout)
        return None
    child, log_offset = _spawn(paths)
    _wait_ready(paths, child, log_offset, deadline, timeout)
    return child.pid


def _spawn(paths: HangarPaths) -> tuple[subprocess.Popen[bytes], int]:
    import subprocess

    argv = daemon_command()
    paths.root.mkdir(mode=0o700, parents=True, exist_ok=True)
    paths.daemon_stderr.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = dict(os.environ)
    env[HOME_ENV] = str(paths.root)  # the daemon must serve the home this client looks at
    log_fd = os.open(paths.daemon_stderr, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        offset = os.fstat(log_fd).st_size
        child = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=log_fd,
            env=env,
            cwd=paths.root,
            start_new_session=True,  # no controlling terminal: ^C in the CLI leaves it alone
            close_fds=True,
        )
    except OSError as exc:
        raise unreachable(paths, f"cannot start the daemon ({' '.join(argv)}): {exc}") from None
    finally:
        os.close(log_fd)
    _children.append(child)
    return child, offset


def _wait_ready(
    paths: HangarPaths,
    child: subprocess.Popen[bytes] | None,
    log_offset: int,
    deadline: float,
    timeout: float,
) -> None:
    exited_at: float | None = None
    while True:
        reason = probe_socket(paths.socket)
        if reason is None and paths.token.exists():
            _reap()
            return
        now = time.monotonic()
        if child is not None and exited_at is None and child.poll() is not None:
            exited_at = now
        if (
            child is not None
            and exited_at is not None
            and now - exited_at >= EXIT_GRACE_S
            and not _other_daemon_alive(paths, child.pid)
        ):
            _reap()
            raise DaemonUnreachable(
                f"the Hangar daemon exited during startup (exit code {child.returncode}); "
                f"see {paths.daemon_stderr}",
                detail=_log_tail(paths.daemon_stderr, log_offset),
            )
        if now >= deadline:
            _reap()
            why = reason or f"token file {paths.token} not written"
            raise DaemonUnreachable(
                f"the Hangar daemon did not become ready within {timeout:g}s "
                f"at {paths.socket} ({why}); see {paths.daemon_stderr}",
                detail=_log_tail(paths.daemon_stderr, log_offset) if child is not None else "",
            )
        time.sleep(POLL_INTERVAL_S)


def _other_daemon_alive(paths: HangarPaths, our_child: int) -> bool:
    """Does the pid file or the lock file name a live process other than our child?"""
    for pid_file in (paths.pid, paths.lock):
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        if pid != our_child and pid > 0 and process_running(pid):
            return True
    return False


def process_running(pid: int) -> bool:
    """Alive and not a zombie: an exited daemon whose parent has not reaped it yet (a
    container's init may take its time) has stopped all the same."""
    from hangar.adapters import procfs  # only when a start went wrong, or for `daemon status`

    return procfs.pid_alive(pid)


def _reap() -> None:
    _children[:] = [c for c in _children if c.poll() is None]


def _log_tail(path: Path, offset: int) -> str:
    """The last lines this start attempt wrote to the daemon's stderr log."""
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            start = max(min(offset, size), size - _TAIL_BYTES)
            f.seek(start)
            data = f.read()
    except OSError:
        return ""
    lines = data.decode("utf-8", "replace").splitlines()[-_TAIL_LINES:]
    return "\n".join(f"  {line}" for line in lines)
