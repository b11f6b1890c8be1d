"""Secrets, managed subprocesses and unix sockets, driven by a real plugin over the real wire."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from hangar.core.paths import HangarPaths
from hangar.plugins import protocol as p
from hangar.plugins.runtime import PluginHost
from hangar.plugins.runtime.managed import MAX_LINE
from hangar.plugins.runtime.process import pid_alive
from hangar.plugins.runtime.secrets import MemoryStore, env_name
from tests.plugins.conftest import FAST, PluginFactory, wait_until

# CLI: ``call <method> <json>`` → {result}|{code, message}; ``notify <method> <json>``;
# ``events`` → every handle_event so far as [topic, base64 payload]; ``env`` → its env.
SERVICES = """
import base64, json
class Svc(Plugin):
    name = "{id}"
    events = []
    def handle_event(self, topic, payload):
        self.events.append([topic, base64.b64encode(payload).decode()])
    def cli_dispatch(self, namespace, argv):
        if argv[0] == "events":
            return CliOutput(stdout=json.dumps(self.events).encode())
        if argv[0] == "env":
            return CliOutput(stdout=json.dumps(dict(os.environ)).encode())
        if argv[0] == "notify":
            self.host.notify(argv[1], json.loads(argv[2]))
            return CliOutput(stdout=b"{{}}")
        try:
            out = {{"result": self.host.call(argv[1], json.loads(argv[2]))}}
        except PluginRpcError as exc:
            out = {{"code": exc.code, "message": exc.message}}
        return CliOutput(stdout=json.dumps(out).encode())
run(Svc())
"""

Make = Callable[..., Awaitable[str]]


@pytest.fixture
def make_svc(make_plugin: PluginFactory, rt_host: PluginHost) -> Make:
    async def make(plugin_id: str, caps: str, host: PluginHost | None = None) -> str:
        h = host or rt_host
        h.load(
            make_plugin(
                plugin_id,
                SERVICES.format(id=plugin_id),
                caps=caps,
                provides=f'cli_namespaces = ["{plugin_id}"]',
            )
        )
        return plugin_id

    return make


async def call(host: PluginHost, ns: str, method: str, params: object) -> dict:
    out = await host.cli_dispatch(ns, ["call", method, json.dumps(params)])
    return json.loads(out.stdout)


async def notify(host: PluginHost, ns: str, method: str, params: object) -> None:
    await host.cli_dispatch(ns, ["notify", method, json.dumps(params)])


async def events(host: PluginHost, ns: str, prefix: str = "") -> list[tuple[str, bytes]]:
    got = json.loads((await host.cli_dispatch(ns, ["events"])).stdout)
    return [(t, base64.b64decode(b)) for t, b in got if t.startswith(prefix)]


async def wait_events(
    host: PluginHost, ns: str, prefix: str, pred: Callable[[list[tuple[str, bytes]]], bool]
) -> list[tuple[str, bytes]]:
    seen: list[tuple[str, bytes]] = []
    for _ in range(250):
        seen = await events(host, ns, prefix)
        if pred(seen):
            return seen
        await asyncio.sleep(0.02)
    raise AssertionError(f"events on {prefix!r} never matched: {seen!r}"[:2000])


def gone(pid: int) -> bool:
    """Dead and reaped: no zombie left either."""
    return not os.path.exists(f"/proc/{pid}") if os.path.isdir("/proc") else not pid_alive(pid)


# -- secrets -------------------------------------------------------------------------------


@pytest.fixture
async def secret_host(
    plugin_home: HangarPaths, plugins_dir: Path
) -> AsyncIterator[Callable[[dict[str, str]], PluginHost]]:
    hosts: list[PluginHost] = []

    def make(extra_env: dict[str, str]) -> PluginHost:
        host = PluginHost(
            paths=plugin_home,
            dirs=[(plugins_dir, "env")],
            policy=FAST,
            home=plugin_home.root.parent / "home",
            env={**os.environ, **extra_env},
        )
        hosts.append(host)
        return host

    yield make
    for host in hosts:
        await host.aclose()


async def test_secrets_env_wins_over_file_and_mode_is_checked(
    secret_host: Callable[[dict[str, str]], PluginHost],
    make_svc: Make,
    plugin_home: HangarPaths,
) -> None:
    assert env_name("my-svc", "api.token") == "AINB_SECRET_MY_SVC_API_TOKEN"
    host = secret_host({env_name("gh", "token"): "from-env"})
    ns = await make_svc("sec", '"secrets:read" = ["token", "other", "absent"]', host)
    plugin_home.root.mkdir(parents=True, exist_ok=True)
    secrets_file = plugin_home.root / "secrets.toml"
    secrets_file.write_text('[gh]\ntoken = "from-file"\nother = "file-only"\n')
    secrets_file.chmod(0o600)

    got = await call(host, ns, "host/secret_store_get", {"scope": "gh", "key": "token"})
    assert got == {"result": {"value": "from-env"}}
    got = await call(host, ns, "host/secret_store_get", {"scope": "gh", "key": "other"})
    assert got == {"result": {"value": "file-only"}}
    got = await call(host, ns, "host/secret_store_get", {"scope": "gh", "key": "absent"})
    assert got["code"] == p.SECRET_NOT_FOUND
    got = await call(host, ns, "host/secret_store_get", {"scope": "gh", "key": "unlisted"})
    assert got["code"] == p.SECRET_ACCESS_DENIED

    secrets_file.chmod(0o644)  # readable by others: locked, and says why
    got = await call(host, ns, "host/secret_store_get", {"scope": "gh", "key": "other"})
    assert got["code"] == p.SECRET_BACKEND_LOCKED
    assert "0644" in got["message"] and "chmod 600" in got["message"]
    assert "file-only" not in got["message"]
    # the env backend still answers first, without touching the file
    got = await call(host, ns, "host/secret_store_get", {"scope": "gh", "key": "token"})
    assert got == {"result": {"value": "from-env"}}

    # the plugin never sees the secret in its own environment
    env = json.loads((await host.cli_dispatch(ns, ["env"])).stdout)
    assert not [k for k in env if k.startswith("AINB_SECRET_")]
    # and no value reaches the log
    logs = "".join(f.read_text() for f in plugin_home.logs.glob("plugins.*.jsonl"))
    assert "from-env" not in logs and "file-only" not in logs


async def test_secrets_memory_backend_and_no_capability(
    plugin_home: HangarPaths, plugins_dir: Path, make_svc: Make
) -> None:
    host = PluginHost(
        paths=plugin_home,
        dirs=[(plugins_dir, "env")],
        policy=FAST,
        secret_store=MemoryStore({("s", "k"): "v"}),
    )
    try:
        ns = await make_svc("mem", '"secrets:read" = ["k"]', host)
        got = await call(host, ns, "host/secret_store_get", {"scope": "s", "key": "k"})
        assert got == {"result": {"value": "v"}}
        ns2 = await make_svc("nocap", "", host)
        got = await call(host, ns2, "host/secret_store_get", {"scope": "s", "key": "k"})
        assert got == {"code": -32001, "message": "capability denied: secrets:read"}
    finally:
        await host.aclose()


# -- managed subprocesses -------------------------------------------------------------------

PY = sys.executable


async def test_managed_output_and_exit_event(make_svc: Make, rt_host: PluginHost) -> None:
    ns = await make_svc("mgd", f'spawn_managed_subprocess = ["{PY}"]')
    script = "import os; print('one'); print('two', os.environ['X']); raise SystemExit(3)"
    got = await call(
        rt_host,
        ns,
        "host/spawn_managed_subprocess",
        {"argv": [PY, "-c", script], "env": {"X": "y"}},
    )
    handle = got["result"]["handle"]
    seen = await wait_events(rt_host, ns, f"managed:{handle}:", lambda e: len(e) >= 3)
    assert seen[:2] == [
        (f"managed:{handle}:stdout", b"one"),
        (f"managed:{handle}:stdout", b"two y"),
    ]
    topic, payload = seen[2]
    assert topic == f"managed:{handle}:exit"
    assert p.decode_event(payload, p.ManagedExit) == p.ManagedExit(3)


async def test_managed_long_line_is_cut(make_svc: Make, rt_host: PluginHost) -> None:
    ns = await make_svc("longl", f'spawn_managed_subprocess = ["{PY}"]')
    script = f"print('x' * {MAX_LINE * 3}); print('after')"
    got = await call(rt_host, ns, "host/spawn_managed_subprocess", {"argv": [PY, "-c", script]})
    handle = got["result"]["handle"]
    seen = await wait_events(rt_host, ns, f"managed:{handle}:", lambda e: len(e) >= 3)
    assert len(seen[0][1]) <= MAX_LINE and set(seen[0][1]) == {ord("x")}
    assert seen[1][1] == b"after"
    done = p.decode_event(seen[2][1], p.ManagedExit)
    assert done.exit_code == 0 and done.dropped_bytes >= MAX_LINE


async def test_managed_gate_forms(make_svc: Make, rt_host: PluginHost, tmp_path: Path) -> None:
    ns = await make_svc("mgate", 'spawn_managed_subprocess = ["true"]')
    ok = await call(rt_host, ns, "host/spawn_managed_subprocess", {"argv": ["true"]})
    assert "handle" in ok["result"]
    real_true = shutil.which("true")
    assert real_true is not None
    ok = await call(rt_host, ns, "host/spawn_managed_subprocess", {"argv": [real_true]})
    assert "handle" in ok["result"]
    # a same-named binary elsewhere is not the listed program
    fake = tmp_path / "true"
    fake.write_text("#!/bin/sh\ntouch pwned\n")
    fake.chmod(0o755)
    for argv in ([str(fake)], ["rm", "-rf", "/nope"], ["sh", "-c", "true"], []):
        denied = await call(rt_host, ns, "host/spawn_managed_subprocess", {"argv": argv})
        assert denied["code"] == -32001, argv
        assert denied["message"] == "capability denied: spawn_managed_subprocess"
    assert not (tmp_path / "pwned").exists()
    bad_cwd = await call(
        rt_host, ns, "host/spawn_managed_subprocess", {"argv": ["true"], "cwd": "rel"}
    )
    assert bad_cwd["code"] == p.INVALID_PARAMS


async def test_managed_missing_program_fails_the_call(
    make_svc: Make, rt_host: PluginHost, tmp_path: Path
) -> None:
    gone = tmp_path / "gone"
    ns = await make_svc("mgone", f'spawn_managed_subprocess = ["{gone}"]')
    got = await call(rt_host, ns, "host/spawn_managed_subprocess", {"argv": [str(gone)]})
    assert got["code"] == p.INTERNAL_ERROR and got["message"].startswith(f"cannot start {gone}")
    assert not rt_host.managed.pids(ns)


async def test_managed_cap_and_teardown_on_stop_crash_and_close(
    make_svc: Make, plugin_home: HangarPaths, plugins_dir: Path
) -> None:
    host = PluginHost(paths=plugin_home, dirs=[(plugins_dir, "env")], policy=FAST)
    try:
        ns = await make_svc("mkill", 'spawn_managed_subprocess = ["sleep"]', host)
        # per-plugin cap
        for _ in range(host.managed.max_children):
            got = await call(host, ns, "host/spawn_managed_subprocess", {"argv": ["sleep", "60"]})
            assert "handle" in got["result"]
        over = await call(host, ns, "host/spawn_managed_subprocess", {"argv": ["sleep", "60"]})
        assert over["code"] == p.INTERNAL_ERROR and "too many" in over["message"]
        pids = host.managed.pids(ns)
        assert len(pids) == host.managed.max_children and all(pid_alive(x) for x in pids)

        await host.stop(ns)  # stop
        await wait_until(lambda: all(gone(x) for x in pids) and not host.managed.pids(ns))

        await call(host, ns, "host/spawn_managed_subprocess", {"argv": ["sleep", "60"]})
        pids = host.managed.pids(ns)
        await host.kill(ns)  # crash
        await wait_until(lambda: all(gone(x) for x in pids))

        await call(host, ns, "host/spawn_managed_subprocess", {"argv": ["sleep", "60"]})
        pids = host.managed.pids(ns)
        assert pids
    finally:
        await host.aclose()  # host close
    assert all(gone(x) for x in pids)
    assert host.managed.pids(ns) == []


# -- unix sockets ---------------------------------------------------------------------------


class Peer:
    """A unix-socket server that records what it gets and can talk back."""

    def __init__(self) -> None:
        self.received = b""
        self.eof = asyncio.Event()
        self.writers: list[asyncio.StreamWriter] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        writer.write(b"hello")
        await writer.drain()
        while data := await reader.read(65536):
            self.received += data
            if b"bye" in self.received:
                writer.write_eof()
        self.eof.set()


@pytest.fixture
async def peer(tmp_path: Path) -> AsyncIterator[tuple[Peer, Path]]:
    path = tmp_path / "peer.sock"
    peer = Peer()
    server = await asyncio.start_unix_server(peer.serve, str(path))
    try:
        yield peer, path
    finally:
        for w in peer.writers:
            w.close()
        server.close()
        await server.wait_closed()


def socket_events(seen: list[tuple[str, bytes]]) -> list[p.SocketEvent]:
    return [p.decode_event(b, p.SocketEvent) for _, b in seen]


async def test_socket_dial_send_receive_eof_close(
    make_svc: Make, rt_host: PluginHost, peer: tuple[Peer, Path], tmp_path: Path
) -> None:
    server, path = peer
    link = tmp_path / "link.sock"
    link.symlink_to(path)
    ns = await make_svc("sock", f'unix_socket_dial = ["{path}"]')
    got = await call(rt_host, ns, "host/unix_socket_dial", {"path": str(link)})  # canonicalised
    sid = got["result"]["stream_id"]
    seen = await wait_events(rt_host, ns, f"socket:{sid}", lambda e: len(e) >= 1)
    assert socket_events(seen)[0] == p.SocketEvent("data", data=b"hello")

    data = base64.b64encode(b"ping bye").decode()
    await notify(rt_host, ns, "host/unix_socket_send", {"stream_id": sid, "data": data})
    await wait_until(lambda: server.received == b"ping bye")
    seen = await wait_events(rt_host, ns, f"socket:{sid}", lambda e: len(e) >= 2)
    assert socket_events(seen)[1] == p.SocketEvent("eof")

    await notify(rt_host, ns, "host/unix_socket_close", {"stream_id": sid})
    await asyncio.wait_for(server.eof.wait(), 5)
    assert rt_host.sockets.count(ns) == 0
    # another plugin's or an unknown stream id does nothing, and the plugin lives on
    await notify(rt_host, ns, "host/unix_socket_send", {"stream_id": sid, "data": data})
    assert (await events(rt_host, ns, f"socket:{sid}"))[2:] == []


async def test_socket_gate_and_dial_errors(
    make_svc: Make, rt_host: PluginHost, peer: tuple[Peer, Path], tmp_path: Path
) -> None:
    _, path = peer
    missing = tmp_path / "missing.sock"
    ns = await make_svc("sgate", f'unix_socket_dial = ["{missing}"]')
    denied = await call(rt_host, ns, "host/unix_socket_dial", {"path": str(path)})
    assert denied == {"code": -32001, "message": "capability denied: unix_socket_dial"}
    # a link to an unlisted socket is judged by its target
    link = missing.parent / "link.sock"
    link.symlink_to(path)
    denied = await call(rt_host, ns, "host/unix_socket_dial", {"path": str(link)})
    assert denied["code"] == -32001
    failed = await call(rt_host, ns, "host/unix_socket_dial", {"path": str(missing)})
    assert failed["code"] == p.INTERNAL_ERROR and "dial" in failed["message"]


async def test_socket_closed_on_plugin_stop_and_crash(
    make_svc: Make, rt_host: PluginHost, peer: tuple[Peer, Path]
) -> None:
    server, path = peer
    ns = await make_svc("sdie", f'unix_socket_dial = ["{path}"]')
    await call(rt_host, ns, "host/unix_socket_dial", {"path": str(path)})
    assert rt_host.sockets.count(ns) == 1
    await rt_host.stop(ns)
    await asyncio.wait_for(server.eof.wait(), 5)
    assert rt_host.sockets.count(ns) == 0

    server.eof.clear()
    await call(rt_host, ns, "host/unix_socket_dial", {"path": str(path)})
    await rt_host.kill(ns)
    await asyncio.wait_for(server.eof.wait(), 5)
    assert rt_host.sockets.count(ns) == 0
