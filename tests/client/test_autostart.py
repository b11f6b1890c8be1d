"""Autostart: spawn a (fake) daemon detached, wait for it, survive races, explain failures.

``HANGAR_DAEMON_CMD`` points at ``fakedaemon.py`` (see conftest), so these tests run real
processes against a real socket without needing the real daemon.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time

import pytest
from fakedaemon import TOKEN, write_token
from tests.e2e.harness import wait_until

from hangar.client import AsyncClient, DaemonUnreachable, SyncClient, autostart, ensure_daemon
from hangar.core.paths import HangarPaths


def daemon_pid(paths: HangarPaths) -> int:
    return int(paths.pid.read_text().strip())


def test_autostart_spawns_a_detached_daemon(paths: HangarPaths) -> None:
    with SyncClient.connect(paths, timeout=20) as client:
        assert client.call("echo", {"hello": "daemon"}) == {"hello": "daemon"}
    pid = daemon_pid(paths)
    assert pid != os.getpid()
    assert os.getsid(pid) == pid, "the daemon leads its own session"
    log = paths.daemon_stderr.read_text()
    assert "fake daemon: starting pid=" in log  # stderr is appended to the log
    assert "fake daemon: starting (stdout)" in log  # and so is stdout
    assert paths.token.stat().st_mode & 0o777 == 0o600
    # a second client finds the running daemon and spawns nothing
    with SyncClient.connect(paths, timeout=20) as client:
        assert client.call("ping") == {}
    assert daemon_pid(paths) == pid
    assert len(autostart._children) <= 1


def test_ensure_daemon_returns_at_once_when_running(paths: HangarPaths) -> None:
    ensure_daemon(paths, timeout=20)
    started = time.monotonic()
    ensure_daemon(paths, timeout=20)
    assert time.monotonic() - started < 1.0
    assert autostart.probe_socket(paths.socket) is None


def test_autostart_replaces_a_stale_socket(paths: HangarPaths) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(os.fspath(paths.socket))
    stale.close()
    assert "connection refused" in (autostart.probe_socket(paths.socket) or "")
    with SyncClient.connect(paths, timeout=20) as client:
        assert client.call("ping") == {}


def test_the_daemon_serves_the_clients_home(
    paths: HangarPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paths passed explicitly win over the environment the daemon inherits."""
    monkeypatch.setenv("AINB_HANGAR_HOME", "/nonexistent/elsewhere")
    with SyncClient.connect(paths, timeout=20) as client:
        assert client.call("ping") == {}


def test_two_clients_racing_to_start_a_daemon(
    paths: HangarPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The winner holds the lock but binds only after 0.8 s, so the loser has exited (0) well
    # before anything listens: its client must keep polling rather than give up.
    monkeypatch.setenv("FAKE_DAEMON_START_DELAY", "0.8")
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def start() -> None:
        try:
            barrier.wait()
            ensure_daemon(paths, timeout=20)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []

    def counts() -> tuple[int, int]:
        log = paths.daemon_stderr.read_text() if paths.daemon_stderr.exists() else ""
        return log.count("fake daemon: starting pid="), log.count("fake daemon: already running")

    def logged_both() -> bool:
        started, lost = counts()
        return started >= 2 and lost >= 1

    # the clients return once the winner is ready: the losing child may not have logged yet
    # (on a timeout the exact checks below say which line is missing)
    with contextlib.suppress(AssertionError):
        wait_until(logged_both, timeout=10)
    started, lost = counts()
    assert started == 2, "both clients spawned one"
    assert lost == 1, "and one lost the lock"
    with SyncClient.connect(paths, timeout=20) as client:
        assert client.call("ping") == {}


def test_daemon_exiting_during_startup(paths: HangarPaths, monkeypatch: pytest.MonkeyPatch) -> None:
    paths.logs.mkdir(parents=True)
    paths.daemon_stderr.write_text("an old line from a previous run\n")
    monkeypatch.setenv("FAKE_DAEMON_MODE", "crash")
    started = time.monotonic()
    with pytest.raises(DaemonUnreachable) as info:
        SyncClient.connect(paths, timeout=20)
    assert time.monotonic() - started < 10, "an early exit is reported without waiting it out"
    err = info.value
    assert "exited during startup (exit code 3)" in err.summary
    assert str(paths.daemon_stderr) in err.summary
    assert "boom, cannot open the database" in err.detail
    assert "old line" not in err.detail, "only this attempt's output"
    assert str(err).startswith(err.summary + "\n")


def test_daemon_not_ready_in_time(paths: HangarPaths, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_DAEMON_START_DELAY", "10")
    with pytest.raises(DaemonUnreachable, match=r"did not become ready within 0\.5s"):
        ensure_daemon(paths, timeout=0.5)


def test_autostart_disabled_spawns_nothing(
    paths: HangarPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(autostart.NO_AUTOSTART_ENV, "1")
    with pytest.raises(DaemonUnreachable, match="autostart disabled by HANGAR_NO_AUTOSTART=1"):
        ensure_daemon(paths)
    assert autostart._children == []
    assert not paths.daemon_stderr.exists()


def test_listening_daemon_without_token_with_autostart_disabled(
    paths: HangarPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(os.fspath(paths.socket))
    listener.listen()
    try:
        monkeypatch.setenv(autostart.NO_AUTOSTART_ENV, "1")
        with pytest.raises(DaemonUnreachable, match=r"token file .* is missing"):
            ensure_daemon(paths)
    finally:
        listener.close()


@pytest.mark.parametrize("raw", ["not json", "[]", '{"a": 1}', "[1, 2]"])
def test_bad_daemon_command_override(
    paths: HangarPaths, monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv(autostart.DAEMON_CMD_ENV, raw)
    with pytest.raises(DaemonUnreachable, match="HANGAR_DAEMON_CMD must be"):
        ensure_daemon(paths)


def test_unlaunchable_daemon_command(paths: HangarPaths, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(autostart.DAEMON_CMD_ENV, json.dumps(["/nonexistent/hangar-daemon"]))
    with pytest.raises(DaemonUnreachable, match="cannot start the daemon"):
        ensure_daemon(paths)


def test_default_daemon_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.delenv(autostart.DAEMON_CMD_ENV)
    assert autostart.daemon_command() == [sys.executable, "-m", "hangar.daemon"]


async def test_async_client_autostarts(paths: HangarPaths) -> None:
    client = await AsyncClient.connect(paths, timeout=20)
    try:
        assert await client.call("echo", {"x": 1}) == {"x": 1}
    finally:
        await client.close()


def test_existing_token_is_used(paths: HangarPaths) -> None:
    write_token(paths, TOKEN)
    with SyncClient.connect(paths, timeout=20) as client:
        assert client.call("ping") == {}
    assert paths.token.read_text().strip() == TOKEN
