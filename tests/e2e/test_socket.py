"""The daemon's socket under bad input: every bad frame gets a clear error, the daemon keeps
serving, and nothing is half-written."""

from __future__ import annotations

import json
import os
import socket
import stat

import pytest

from tests.e2e.harness import Hangar, wait_until


def _frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class Raw:
    def __init__(self, hangar: Hangar) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(10)
        self.sock.connect(str(hangar.home / "hangar.sock"))
        self.token = (hangar.home / "daemon.token").read_text().strip()
        # bytes of the next frame, kept per connection: never another socket's leftovers
        self.buf = b""

    def send(self, obj: object) -> None:
        self.sock.sendall(_frame(json.dumps(obj).encode()))

    def call(self, method: str, params: object = None, id: int = 1) -> dict:
        self.send({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
        msg = self.read()
        assert msg is not None
        return msg

    def read(self) -> dict | None:
        """Read one frame, keeping any bytes of the next frame for the next call."""
        buf, self.buf = self.buf, b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        length = int(head.split(b":")[1])
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            rest += chunk
        self.buf = rest[length:]
        return json.loads(rest[:length])

    def hello(self) -> None:
        welcome = {"scope": "admin", "token_id": None}  # the socket token may do everything
        assert self.call("auth/hello", {"token": self.token})["result"] == welcome

    def closed(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, TimeoutError):
            return True


@pytest.fixture
def up(hangar: Hangar) -> Hangar:
    hangar.run("daemon", "start")
    return hangar


def _still_serving(hangar: Hangar) -> None:
    assert hangar.json("daemon", "status")["running"] is True


def test_socket_token_and_home_are_private(up: Hangar) -> None:
    assert stat.S_IMODE(os.stat(up.home / "hangar.sock").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(up.home).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(up.home / "daemon.token").st_mode) == 0o600
    assert (up.home / "daemon.token").read_text().startswith("mdt_")


def test_wrong_token_is_refused_and_closed(up: Hangar) -> None:
    raw = Raw(up)
    msg = raw.call("auth/hello", {"token": "mdt_" + "A" * 52})
    assert msg["error"]["code"] == -32000
    assert raw.closed()
    _still_serving(up)


def test_first_frame_must_be_hello(up: Hangar) -> None:
    raw = Raw(up)
    msg = raw.call("hangar/issues_list", {})
    assert msg["error"]["code"] == -32000
    assert raw.closed()


def test_unknown_method_and_wrong_params(up: Hangar) -> None:
    raw = Raw(up)
    raw.hello()
    assert raw.call("hangar/nope", {}, id=2)["error"]["code"] == -32601
    bad = raw.call("hangar/issue_create", {"title": 5}, id=3)
    assert bad["error"]["code"] == -32602
    typo = raw.call("hangar/issues_list", {"workspce_id": "default"}, id=4)
    assert typo["error"]["code"] == -32602 and "workspce_id" in typo["error"]["message"]
    assert raw.call("hangar/task_get", {"task_id": "01NOPE"}, id=5)["error"]["code"] == -32010
    # the same connection still works after every error
    assert raw.call("ping", {}, id=6)["result"] == {}
    assert up.json("issue", "list") == []  # nothing half-written


def test_malformed_json_gets_parse_error_and_connection_survives(up: Hangar) -> None:
    raw = Raw(up)
    raw.hello()
    raw.sock.sendall(_frame(b"{not json"))
    assert raw.read()["error"]["code"] == -32700
    assert raw.call("ping", {}, id=9)["result"] == {}


def test_malformed_and_oversized_frames_close_only_that_connection(up: Hangar) -> None:
    raw = Raw(up)
    raw.hello()
    raw.sock.sendall(b"Content-Length: banana\r\n\r\n{}")
    assert raw.read()["error"]["code"] == -32700
    assert raw.closed()

    big = Raw(up)
    big.hello()
    big.sock.sendall(b"Content-Length: %d\r\n\r\n" % (17 * 1024 * 1024))
    assert big.read()["error"]["code"] == -32700
    assert big.closed()

    huge_header = Raw(up)
    huge_header.sock.sendall(b"X-Padding: " + b"a" * 9000 + b"\r\n")
    assert huge_header.read()["error"]["code"] == -32700
    _still_serving(up)


def test_peer_of_another_uid_is_rejected(up: Hangar) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to connect as another uid")
    sock_path = up.home / "hangar.sock"
    os.chmod(up.home, 0o755)
    os.chmod(sock_path, 0o666)  # let uid 65534 reach the socket so the peer check is what stops it
    try:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: become nobody, connect, report what happened
            os.close(r)
            try:
                os.setgid(65534)
                os.setuid(65534)
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(5)
                s.connect(str(sock_path))
                s.sendall(
                    _frame(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode())
                )
                data = s.recv(100)
                os.write(w, b"closed" if data == b"" else b"answered")
            except (BrokenPipeError, ConnectionResetError):
                os.write(w, b"closed")  # hung up before we finished writing
            except Exception as exc:
                os.write(w, f"error {exc}".encode())
            os._exit(0)
        os.close(w)
        os.waitpid(pid, 0)
        outcome = os.read(r, 200).decode()
    finally:
        os.chmod(up.home, 0o700)
        os.chmod(sock_path, 0o600)
    assert outcome == "closed", outcome
    _still_serving(up)


def test_events_stream_to_subscribers(up: Hangar) -> None:
    up.json(
        "agent",
        "create",
        "--name",
        "echo",
        "--provider",
        "command",
        "--command",
        "echo hi",
    )
    raw = Raw(up)
    raw.hello()
    sub = raw.call("workspace/subscribe", {"workspace_id": "default"}, id=2)
    assert sub["result"]["workspace"]["slug"] == "default"
    created = up.json("issue", "create", "--title", "evented", "--assign", "echo")
    task_id = created["task"]["id"]
    seen: list[str] = []
    while "task_finished" not in seen:
        msg = raw.read()
        assert msg is not None and msg["method"] == "hangar/event"
        ev = msg["params"]
        seen.append(ev["event"])
        if ev["event"] == "task_message":
            assert ev["task_id"] == task_id and ev["kind"] == "agent" and ev["body"] == "hi"
    assert seen[:3] == ["issue_created", "task_queued", "task_started"], seen
    assert "task_message" in seen
    # the lifecycle moved the issue to in_progress, then done: both announced
    assert seen.count("issue_updated") >= 1
    final = raw.read()["params"]
    assert final["event"] == "issue_updated" and final["issue"]["state"] == "done"


def test_daemon_health_reports_slots_load_and_throughput(up: Hangar) -> None:
    up.json("agent", "create", "--name", "busy", "--provider", "command", "--command", "sleep 30")
    up.json("agent", "create", "--name", "quick", "--provider", "command", "--command", "true")
    running = up.assign("busy", "long")["task"]["id"]
    up.wait_status(running, {"running"})
    waiting = up.assign("busy", "waits for the slot")["task"]["id"]
    up.wait_done(up.assign("quick")["task"]["id"])
    raw = Raw(up)
    raw.hello()

    def settled() -> dict | None:
        health = raw.call("hangar/daemon_health", {"workspace_id": "default"})["result"]
        return health if health["slots_used"] == 1 else None

    # the quick task reads done a moment before its runner leaves the dispatcher's slots
    health = wait_until(settled, timeout=10)
    assert health["slots_used"] == 1 and health["slots_total"] >= 1
    assert health["concurrent_tasks"] == 1 and health["queued_tasks"] == 1
    assert sum(health["success_ring"]) == 1 and sum(health["failure_ring"]) == 0
    assert len(health["success_ring"]) == len(health["failure_ring"]) == 60
    assert {r["provider"] for r in health["runtimes"]} == {"command"}
    for task_id in (waiting, running):
        up.run("task", "cancel", task_id)
