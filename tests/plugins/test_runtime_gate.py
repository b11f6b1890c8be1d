"""The capability gate over the real wire: deny by default, -32001 ``capability denied: <cap>``,
fs paths canonicalised and held to their roots, and every other host call."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest

from hangar.core.paths import HangarPaths
from hangar.plugins.manifest import parse_manifest
from hangar.plugins.runtime import PluginHost
from hangar.plugins.runtime.gate import CapabilityGate
from hangar.proto.jsonrpc import CAPABILITY_DENIED, RpcError
from tests.plugins.conftest import PluginFactory, read_log

# A plugin whose CLI performs one host call and prints the outcome as JSON.
CALLER = """
import base64, json
class Caller(Plugin):
    name = "{id}"
    def cli_dispatch(self, namespace, argv):
        method, params = argv[0], json.loads(argv[1]) if len(argv) > 1 else None
        try:
            result = self.host.call(method, params)
        except PluginRpcError as exc:
            out = {{"code": exc.code, "message": exc.message}}
        else:
            out = {{"result": result}}
        return CliOutput(stdout=json.dumps(out).encode())
run(Caller())
"""


async def call(host: PluginHost, ns: str, method: str, params: object = None) -> dict:
    argv = [method] if params is None else [method, json.dumps(params)]
    out = await host.cli_dispatch(ns, argv)
    return json.loads(out.stdout)


@pytest.fixture
def caller(make_plugin: PluginFactory, rt_host: PluginHost) -> object:
    def make(plugin_id: str, caps: str = "") -> str:
        rt_host.load(
            make_plugin(
                plugin_id,
                CALLER.format(id=plugin_id),
                caps=caps,
                provides=f'cli_namespaces = ["{plugin_id}"]',
            )
        )
        return plugin_id

    return make


@pytest.fixture
def sessions(plugin_home: HangarPaths) -> Path:
    home = plugin_home.root.parent / "home"
    (home / ".claude" / "projects" / "p").mkdir(parents=True)
    (home / ".claude" / "projects" / "p" / "s.jsonl").write_text('{"a": 1}\n')
    (home / ".codex" / "sessions").mkdir(parents=True)
    (home / ".codex" / "sessions" / "r.jsonl").write_text("codex\n")
    (home / "secret.txt").write_text("top secret\n")
    return home


DENIED = {
    "host/snapshot/get": ({"topic": "t"}, "event_bus"),
    "host/snapshot/subscribe": ({"topic": "t"}, "event_bus"),
    "host/network/fetch": ({"url": "http://127.0.0.1:9/"}, "network"),
    "host/spawn_managed_subprocess": ({"argv": ["ls"]}, "spawn_managed_subprocess"),
    "host/unix_socket_dial": ({"path": "/tmp/x.sock"}, "unix_socket_dial"),
    "host/secret_store_get": ({"scope": "s", "key": "k"}, "secrets:read"),
    "host/event_stream_subscribe": ({"topic": "workspace:1"}, "event_stream_subscribe"),
    "host/workspace_set_active": ({"slug": "x"}, "workspace:write"),
    "host/fs/read_file": ({"path": "/etc/hostname"}, "read_sessions"),
    "host/fs/write_file": ({"path": "/tmp/x", "bytes": ""}, "write_plugin_data"),
}


async def test_nothing_is_granted_by_default(caller: object, rt_host: PluginHost) -> None:
    ns = caller("bare")  # type: ignore[operator]
    for method, (params, cap) in DENIED.items():
        assert await call(rt_host, ns, method, params) == {
            "code": CAPABILITY_DENIED,
            "message": f"capability denied: {cap}",
        }, method
    # ungated calls still work, and the plugin is still fine
    assert await call(rt_host, ns, "host/nope") == {
        "code": -32601,
        "message": "method not found: host/nope",
    }


async def test_reads_under_granted_roots(
    caller: object, rt_host: PluginHost, sessions: Path
) -> None:
    ns = caller("reader", "read_claude_logs = true")  # type: ignore[operator]
    f = sessions / ".claude" / "projects" / "p" / "s.jsonl"
    got = await call(rt_host, ns, "host/fs/read_file", {"path": str(f)})
    assert got["result"]["bytes"] == "eyJhIjogMX0K"  # base64 of {"a": 1}\n
    listing = await call(rt_host, ns, "host/fs/read_dir", {"path": str(f.parent)})
    assert listing["result"]["entries"] == [{"name": "s.jsonl", "is_dir": False, "size": 9}]
    # codex logs need their own grant, named in the denial
    codex = sessions / ".codex" / "sessions" / "r.jsonl"
    assert (await call(rt_host, ns, "host/fs/read_file", {"path": str(codex)}))[
        "message"
    ] == "capability denied: read_codex_logs"
    # outside every root, even via ..
    sneaky = str(f.parent / ".." / ".." / ".." / "secret.txt")
    assert (await call(rt_host, ns, "host/fs/read_file", {"path": sneaky}))[
        "code"
    ] == CAPABILITY_DENIED
    missing = await call(rt_host, ns, "host/fs/read_file", {"path": str(f.parent / "nope")})
    assert missing["code"] == -32010 and "no such file" in missing["message"]
    relative = await call(rt_host, ns, "host/fs/read_file", {"path": "s.jsonl"})
    assert relative == {"code": -32602, "message": "path must be absolute: 's.jsonl'"}


async def test_symlink_out_of_a_root_is_refused(
    caller: object, rt_host: PluginHost, sessions: Path
) -> None:
    ns = caller("linker", "read_sessions = true")  # type: ignore[operator]
    link = sessions / ".claude" / "projects" / "p" / "escape.jsonl"
    link.symlink_to(sessions / "secret.txt")
    got = await call(rt_host, ns, "host/fs/read_file", {"path": str(link)})
    assert got["code"] == CAPABILITY_DENIED
    codex = sessions / ".codex" / "sessions" / "r.jsonl"
    ok = await call(rt_host, ns, "host/fs/read_file", {"path": str(codex)})
    assert "result" in ok  # read_sessions opens both roots


async def test_write_plugin_data_stays_in_the_data_dir(
    caller: object, rt_host: PluginHost, plugin_home: HangarPaths
) -> None:
    ns = caller("writer", "write_plugin_data = true")  # type: ignore[operator]
    data = plugin_home.root / "plugins" / "writer" / "data"
    target = data / "sub" / "cache.json"
    assert await call(
        rt_host, ns, "host/fs/write_file", {"path": str(target), "bytes": "aGk="}
    ) == {"result": {}}
    assert target.read_bytes() == b"hi"
    back = await call(rt_host, ns, "host/fs/read_file", {"path": str(target)})
    assert back["result"]["bytes"] == "aGk="
    other = plugin_home.root / "plugins" / "other" / "data" / "x"
    denied = await call(rt_host, ns, "host/fs/write_file", {"path": str(other), "bytes": ""})
    assert denied["message"] == "capability denied: write_plugin_data"
    assert not other.exists()


async def test_network_host_allow_list(caller: object, rt_host: PluginHost) -> None:
    ns = caller("netter", 'network = ["allowed.invalid"]')  # type: ignore[operator]
    denied = await call(rt_host, ns, "host/network/fetch", {"url": "http://evil.invalid/x"})
    assert denied["message"] == "capability denied: network"
    allowed = await call(rt_host, ns, "host/network/fetch", {"url": "http://allowed.invalid/"})
    assert allowed["code"] == -32603 and "fetch" in allowed["message"]  # passed the gate


async def test_granted_calls_pass_the_gate(caller: object, rt_host: PluginHost) -> None:
    # what they do past the gate is in test_runtime_services.py
    ns = caller("wide", 'spawn_managed_subprocess = ["ls"]\n"secrets:read" = ["k"]')  # type: ignore[operator]
    got = await call(rt_host, ns, "host/spawn_managed_subprocess", {"argv": ["/bin/ls"]})
    assert "handle" in got["result"]
    other = await call(rt_host, ns, "host/spawn_managed_subprocess", {"argv": ["rm"]})
    assert other["message"] == "capability denied: spawn_managed_subprocess"
    assert (await call(rt_host, ns, "host/secret_store_get", {"scope": "s", "key": "k"}))[
        "code"
    ] == -32004  # granted, not set
    assert (await call(rt_host, ns, "host/secret_store_get", {"scope": "s", "key": "x"}))[
        "code"
    ] == -32007  # SECRET_ACCESS_DENIED: the key is not listed


async def test_publish_without_event_bus_is_dropped_and_logged(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    rt_host.load(
        make_plugin(
            "sneak",
            """
            class S(Plugin):
                name = "sneak"
                def on_init(self, granted):
                    self.host.publish("t", b"x")
            run(S())
            """,
        )
    )
    await rt_host.ensure_running("sneak")
    await rt_host.stop("sneak")  # the publish was handled before the shutdown reply
    assert rt_host.snapshot("t") is None
    denied = [r for r in read_log(rt_host.paths) if r["event"] == "plugin.denied"]
    assert denied and "capability denied: event_bus" in str(denied[0]["msg"])


def test_gate_unit_topic_prefixes_and_sockets(tmp_path: Path) -> None:
    sock = tmp_path / "real.sock"
    sock.touch()
    (tmp_path / "link.sock").symlink_to(sock)
    m = parse_manifest(
        '[plugin]\nname = "g"\nversion = "1.0.0"\nabi_version = 2\n[capabilities]\n'
        f'event_stream_subscribe = ["workspace:*"]\nunix_socket_dial = ["{tmp_path}/link.sock"]\n'
    )
    gate = CapabilityGate(m, tmp_path / "data", tmp_path)
    gate.check("host/event_stream_subscribe", {"topic": "workspace:abc"})
    with pytest.raises(RpcError, match="capability denied: event_stream_subscribe"):
        gate.check("host/event_stream_subscribe", {"topic": "tasks:abc"})
    gate.check("host/unix_socket_dial", {"path": str(sock)})  # canonical forms match
    with pytest.raises(RpcError, match="capability denied: unix_socket_dial"):
        gate.check("host/unix_socket_dial", {"path": str(tmp_path / "other.sock")})
    with pytest.raises(RpcError) as err:
        gate.check("host/unix_socket_dial", {"path": 3})
    assert err.value.code == -32602
    assert os.path.exists(sock)


async def test_fifo_under_a_granted_root_is_refused_not_hung(
    caller: object, rt_host: PluginHost, sessions: Path
) -> None:
    # open() on a FIFO would block a worker thread forever (and the host's exit with it)
    ns = caller("fifo", "read_claude_logs = true")  # type: ignore[operator]
    fifo = sessions / ".claude" / "projects" / "p" / "pipe.jsonl"
    os.mkfifo(fifo)
    try:
        argv = ["host/fs/read_file", json.dumps({"path": str(fifo)})]
        got = json.loads((await rt_host.cli_dispatch(ns, argv, timeout=5)).stdout)
        assert got == {"code": -32602, "message": f"not a regular file: {fifo}"}
        listing = await call(rt_host, ns, "host/fs/read_dir", {"path": str(fifo)})
        assert listing == {"code": -32602, "message": f"not a directory: {fifo}"}
    finally:  # without the fix a reader is stuck in open(): a writer end lets it go
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


async def test_publish_is_held_to_provides_snapshots(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    rt_host.load(
        make_plugin(
            "narrow",
            CALLER.format(id="narrow"),
            caps="event_bus = true",
            provides='cli_namespaces = ["narrow"]\nsnapshots = ["mine"]',
        )
    )
    # event_bus alone is not enough: a publish (sent as a request) on an undeclared topic
    # gets -32001, on a declared one it is served
    theirs = {"topic": "theirs", "payload": "eA=="}
    denied = await call(rt_host, "narrow", "host/snapshot/publish", theirs)
    assert denied == {"code": CAPABILITY_DENIED, "message": "capability denied: provides.snapshots"}
    mine = {"topic": "mine", "payload": "eA=="}
    assert await call(rt_host, "narrow", "host/snapshot/publish", mine) == {"result": {}}
    assert rt_host.snapshot("mine") is not None and rt_host.snapshot("theirs") is None
    assert rt_host.status("narrow").denials == 1


async def test_notified_publish_outside_provides_is_dropped_and_logged(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    rt_host.load(
        make_plugin(
            "spill",
            """
            class S(Plugin):
                name = "spill"
                def cli_dispatch(self, namespace, argv):
                    self.host.publish("theirs", b"x")
                    self.host.publish("mine", b"y")
                    return CliOutput()
            run(S())
            """,
            caps="event_bus = true",
            provides='cli_namespaces = ["spill"]\nsnapshots = ["mine"]',
        )
    )
    await rt_host.cli_dispatch("spill", [])
    snap = await rt_host.wait_snapshot("mine", 5)
    assert snap is not None and snap.payload == b"y"  # handled in order: "theirs" came first
    assert rt_host.snapshot("theirs") is None
    denied = [r for r in read_log(rt_host.paths) if r["event"] == "plugin.denied"]
    assert denied and "capability denied: provides.snapshots" in str(denied[0]["msg"])
    assert rt_host.status("spill").denials == 1


async def test_host_calls_before_the_init_answer_are_refused(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    rt_host.register_action("ping", lambda payload: b"pong")
    rt_host.load(
        make_plugin(
            "eager",
            """
            import json
            class E(Plugin):
                name = "eager"
                def on_init(self, granted):
                    try:
                        self.early = {"result": self.host.invoke("ping")}
                    except PluginRpcError as exc:
                        self.early = {"code": exc.code, "message": exc.message}
                def cli_dispatch(self, namespace, argv):
                    late = self.host.invoke("ping").decode()
                    return CliOutput(stdout=json.dumps([self.early, late], default=str).encode())
            run(E())
            """,
            provides='cli_namespaces = ["eager"]',
        )
    )
    early, late = json.loads((await rt_host.cli_dispatch("eager", [])).stdout)
    assert early == {"code": CAPABILITY_DENIED, "message": "not initialised"}
    assert late == "pong"  # once Running, the same call is served
