"""The blocking client against a fake daemon served from a background thread."""

from __future__ import annotations

import os
import socket

import pytest
from fakedaemon import TOKEN, ThreadedDaemon, write_token

from hangar.client import ConnectionLost, DaemonUnreachable, RemoteError, SyncClient
from hangar.client.autostart import NO_AUTOSTART_ENV
from hangar.core.paths import HangarPaths
from hangar.proto import jsonrpc


def test_connect_authenticates_and_calls(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    with SyncClient.connect(paths, autostart=False) as client:
        assert client.call("ping") == {}
        assert client.call("echo", {"workspace_id": "default", "n": [1, "é"]}) == {
            "workspace_id": "default",
            "n": [1, "é"],
        }
        assert client.call("echo", [1, 2]) == [1, 2]
    assert client.closed
    assert daemon.daemon.authenticated == 1


def test_connect_reads_paths_from_the_environment(daemon: ThreadedDaemon) -> None:
    with SyncClient.connect(autostart=False) as client:
        assert client.call("ping") == {}


def test_wrong_token_is_a_clear_error(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    write_token(paths, "mdt_WRONG")
    with pytest.raises(RemoteError) as info:
        SyncClient.connect(paths, autostart=False)
    err = info.value
    assert err.code == jsonrpc.UNAUTHORIZED
    assert str(paths.token) in err.message
    assert str(paths.socket) in err.message
    assert "refused the token" in err.message


def test_missing_token_file(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    paths.token.unlink()
    with pytest.raises(DaemonUnreachable, match=r"token file .* is missing"):
        SyncClient.connect(paths, autostart=False)


def test_remote_error_carries_code_message_data(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    with SyncClient.connect(paths, autostart=False) as client:
        with pytest.raises(RemoteError) as info:
            client.call("fail", {"code": -32602, "message": "illegal edge", "data": {"to": "x"}})
        assert (info.value.code, info.value.message, info.value.data) == (
            -32602,
            "illegal edge",
            {"to": "x"},
        )
        assert info.value.method == "fail"
        assert isinstance(info.value, jsonrpc.RpcError)
        with pytest.raises(RemoteError) as info:
            client.call("no/such_method")
        assert info.value.code == jsonrpc.METHOD_NOT_FOUND
        assert client.call("ping") == {}  # still usable


def test_events_pushed_during_a_call_are_queued(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    events = [{"event": "task_started", "task_id": f"t{i}", "started_at": i} for i in range(3)]
    with SyncClient.connect(paths, autostart=False) as client:
        assert client.next_event(timeout=0) is None
        assert client.call("emit", {"events": events}) == {"emitted": 3}
        assert [client.next_event(timeout=0) for _ in range(3)] == events
        assert client.next_event(timeout=0.05) is None


def test_next_event_waits_for_events(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    with SyncClient.connect(paths, autostart=False) as client:
        client.call("emit_later", {"events": [{"event": "a"}, {"event": "b"}], "delay": 0.2})
        assert client.next_event(timeout=0) is None
        assert client.next_event(timeout=5) == {"event": "a"}
        assert client.next_event() == {"event": "b"}


def test_other_notifications_are_not_events(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    with SyncClient.connect(paths, autostart=False) as client:
        client.call("other_notification")
        assert client.next_event(timeout=0.05) is None


def test_call_timeout_keeps_the_connection_usable(
    daemon: ThreadedDaemon, paths: HangarPaths
) -> None:
    with SyncClient.connect(paths, autostart=False) as client:
        with pytest.raises(TimeoutError, match="sleep"):
            client.call("sleep", {"seconds": 0.3, "value": "late"}, timeout=0.05)
        assert client.call("sleep", {"seconds": 0.4, "value": "on time"}) == "on time"
        assert client.call("ping") == {}


def test_default_call_timeout(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    with SyncClient.connect(paths, autostart=False, call_timeout=0.05) as client:
        with pytest.raises(TimeoutError):
            client.call("sleep", {"seconds": 0.3})
        assert client.call("sleep", {"seconds": 0.3, "value": 1}, timeout=None) == 1


def test_large_payload_round_trip(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    big = {"text": "é" * (2 * 1024 * 1024)}
    with SyncClient.connect(paths, autostart=False) as client:
        assert client.call("echo", big) == big


def test_daemon_dropping_the_connection(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    client = SyncClient.connect(paths, autostart=False)
    with pytest.raises(ConnectionLost, match="closed the connection"):
        client.call("drop")
    assert client.closed
    with pytest.raises(ConnectionLost):
        client.call("ping")
    assert isinstance(ConnectionLost("x"), DaemonUnreachable)


@pytest.mark.parametrize("method", ["garbage", "bad_json"])
def test_daemon_breaking_the_protocol(
    daemon: ThreadedDaemon, paths: HangarPaths, method: str
) -> None:
    client = SyncClient.connect(paths, autostart=False)
    with pytest.raises(ConnectionLost, match=r"bad frame|invalid message"):
        client.call(method)
    assert client.closed


def test_client_answers_daemon_requests_with_method_not_found(
    daemon: ThreadedDaemon, paths: HangarPaths
) -> None:
    with SyncClient.connect(paths, autostart=False) as client:
        assert client.call("ask_client") == {"code": jsonrpc.METHOD_NOT_FOUND}


def test_ids_increase(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    with SyncClient.connect(paths, autostart=False) as client:
        first = client._next_id
        client.call("ping")
        client.call("ping")
        assert client._next_id == first + 2


# -- no daemon ----------------------------------------------------------------------------------


def stale_socket(paths: HangarPaths) -> None:
    """Leave a socket file nobody listens on, as a crashed daemon does."""
    paths.root.mkdir(parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(os.fspath(paths.socket))
    sock.close()
    assert paths.socket.exists()


def test_stale_socket_with_autostart_disabled(
    paths: HangarPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale_socket(paths)
    write_token(paths, TOKEN)
    monkeypatch.setenv(NO_AUTOSTART_ENV, "1")
    with pytest.raises(DaemonUnreachable) as info:
        SyncClient.connect(paths)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"cannot reach the Hangar daemon at {paths.socket}: ")
    assert "connection refused" in message
    assert "HANGAR_NO_AUTOSTART=1" in message
    assert str(paths.daemon_stderr) in message
    assert not paths.daemon_stderr.exists(), "nothing was spawned"


def test_no_socket_and_autostart_false(paths: HangarPaths) -> None:
    with pytest.raises(DaemonUnreachable, match="no socket file"):
        SyncClient.connect(paths, autostart=False)


def test_socket_path_too_long(tmp_path_factory: pytest.TempPathFactory) -> None:
    deep = tmp_path_factory.mktemp("x" * 60) / ("y" * 80)
    with pytest.raises(DaemonUnreachable, match="cannot reach the Hangar daemon"):
        SyncClient.connect(HangarPaths(deep), autostart=False)
