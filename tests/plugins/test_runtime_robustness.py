"""A misbehaving plugin costs the host nothing: bad frames crash the plugin, never the host;
a silent plugin times out; a flooding plugin is throttled; stderr and host/log are logged."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hangar.core.paths import HangarPaths
from hangar.plugins.protocol import Viewport
from hangar.plugins.runtime import (
    Limits,
    PluginBadResult,
    PluginCrashed,
    PluginHost,
    PluginQuarantined,
    PluginState,
    PluginTimeout,
)
from tests.plugins.conftest import (
    FAST,
    FLOOD,
    PluginFactory,
    echo_body,
    read_log,
    wait_until,
)

# Answers plugin/init properly, then replies to the first render with ``{bad}`` raw bytes.
RAW = """#!/usr/bin/env python3
import json, sys, time
from hangar.proto.framing import read_frame_sync, write_frame_sync
out = sys.stdout.buffer
req = json.loads(read_frame_sync(sys.stdin.buffer))
write_frame_sync(out, json.dumps({{"jsonrpc": "2.0", "id": req["id"],
    "result": {{"name": "{id}", "version": "0.1.0"}}}}).encode())
read_frame_sync(sys.stdin.buffer)
out.write({bad!r})
out.flush()
time.sleep(60)
"""


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"Content-Length: abc\r\n\r\n", "malformed frame"),
        (b"Content-Length: 99999999\r\n\r\n", "malformed frame"),  # > 16 MiB
        (b"X" * 9000, "malformed frame"),  # a header block that never ends
        (b"Content-Length: 3\r\n\r\n{{{", "malformed message"),
        (b"Content-Length: 5\nbare-lf", "malformed frame"),
    ],
)
async def test_bad_output_crashes_the_plugin_not_the_host(
    make_plugin: PluginFactory, rt_host: PluginHost, bad: bytes, reason: str
) -> None:
    rt_host.load(make_plugin("liar", RAW.format(id="liar", bad=bad), raw=True))
    rt_host.load(make_plugin("good", echo_body("good")))
    with pytest.raises(PluginCrashed, match=reason):
        await rt_host.render("liar", Viewport(5, 1))
    await wait_until(lambda: rt_host.status("liar").crashes == 1)
    assert reason in (rt_host.status("liar").last_error or "")
    assert (await rt_host.render("good", Viewport(5, 1))).width == 5


async def test_invalid_jsonrpc_gets_an_error_reply_and_the_plugin_lives(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    # valid JSON, not JSON-RPC: answered with -32600, the connection stays up
    rt_host.load(
        make_plugin(
            "odd",
            RAW.format(id="odd", bad=b"Content-Length: 2\r\n\r\n{}"),
            raw=True,
        )
    )
    with pytest.raises(PluginTimeout):
        await rt_host.render("odd", Viewport(1, 1), timeout=0.5)
    assert rt_host.state("odd") is PluginState.RUNNING


async def test_a_silent_plugin_times_out_and_the_host_keeps_serving(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    rt_host.load(
        make_plugin(
            "mute",
            """
            class M(Plugin):
                name = "mute"
                def render(self, viewport, generation):
                    time.sleep(60)
            run(M())
            """,
        )
    )
    rt_host.load(make_plugin("good", echo_body("good")))
    await rt_host.ensure_running("mute")
    slow = asyncio.create_task(rt_host.render("mute", Viewport(1, 1), timeout=0.5))
    assert (await rt_host.render("good", Viewport(5, 1))).width == 5  # not blocked by mute
    with pytest.raises(PluginTimeout, match=r"no answer within 0\.5s"):
        await slow
    assert rt_host.state("mute") is PluginState.RUNNING
    assert rt_host.supervisor("mute").conn.inflight == 0  # type: ignore[union-attr]


async def test_a_plugin_that_never_inits_is_a_crash(
    make_plugin: PluginFactory, plugin_home: HangarPaths
) -> None:
    d = make_plugin("sloth", "#!/bin/sh\nexec sleep 60\n", raw=True)
    from dataclasses import replace

    policy = replace(FAST, request_timeout=0.3, start_timeout=5.0)
    async with PluginHost(paths=plugin_home, dirs=[(d.parent, "env")], policy=policy) as host:
        with pytest.raises(PluginQuarantined):
            await host.ensure_running("sloth")
        await wait_until(lambda: host.status("sloth").crashes >= 1)
        assert "no answer" in (host.status("sloth").last_error or "")


class SlowHost(PluginHost):
    """A host whose notification handling lags (a slow disk, say) behind a fast plugin."""

    async def on_plugin_notification(self, sup: Any, method: str, params: Any) -> None:
        await asyncio.sleep(0.002)
        await super().on_plugin_notification(sup, method, params)


async def test_a_flooding_plugin_is_throttled(
    make_plugin: PluginFactory, plugin_home: HangarPaths, plugins_dir: object
) -> None:
    make_plugin("flood", FLOOD)
    make_plugin("good", echo_body("good"))
    limits = Limits(notification_queue=64)
    host = SlowHost(
        paths=plugin_home,
        dirs=[(plugins_dir, "env")],
        policy=FAST,
        limits=limits,  # type: ignore[list-item]
    )
    async with host:
        await host.ensure_running("flood")
        flood = asyncio.create_task(host.render("flood", Viewport(3, 1), timeout=30))
        # the host answers others while the flood is on
        for _ in range(3):
            assert (await host.render("good", Viewport(4, 1), timeout=5)).width == 4
        await flood
        conn = host.supervisor("flood").conn
        assert conn is not None
        assert conn.dropped_notifications > 0
        assert conn._inbox.qsize() <= 64
        assert host.state("flood") is PluginState.RUNNING
    log = read_log(plugin_home)
    assert any(r["event"] == "plugin.notifications_dropped" for r in log)
    kept = [r for r in log if r["event"] == "plugin.log"]
    assert 0 < len(kept) < 20000


async def test_stderr_and_host_log_are_logged_with_level_filter(
    make_plugin: PluginFactory, plugin_home: HangarPaths, plugins_dir: object
) -> None:
    make_plugin(
        "chatty",
        """
        class C(Plugin):
            name = "chatty"
            def render(self, viewport, generation):
                print("a stray print")  # goes to stderr, not onto the wire
                for level in ("trace", "debug", "info", "warn", "error"):
                    self.host.log(level, f"at {level}", n=1, plugin="spoof")
                return WireBuffer(viewport.width, viewport.height)
        run(C())
        """,
    )
    host = PluginHost(paths=plugin_home, dirs=[(plugins_dir, "env")], policy=FAST)  # type: ignore[list-item]
    async with host:
        assert (await host.render("chatty", Viewport(2, 1))).width == 2

        def logged() -> list[dict[str, object]]:
            return [r for r in read_log(plugin_home) if r["plugin"] == "chatty"]

        await wait_until(lambda: any(r["event"] == "plugin.stderr" for r in logged()))
        await wait_until(lambda: any(r["msg"] == "at error" for r in logged()))
    lines = logged()
    levels = [r["level"] for r in lines if r["event"] == "plugin.log"]
    assert levels == ["info", "warn", "error"]  # trace and debug are below "info"
    info = next(r for r in lines if r["msg"] == "at info")
    assert set(info) >= {"ts", "level", "target", "msg", "event", "plugin"}
    assert info["plugin"] == "chatty" and info["field_plugin"] == "spoof" and info["n"] == 1
    assert str(info["ts"]).endswith("Z")
    stderr = next(r for r in lines if r["event"] == "plugin.stderr")
    assert stderr["msg"] == "a stray print"
    assert (plugin_home.logs).glob("plugins.*.jsonl")


async def test_trace_level_keeps_everything(
    make_plugin: PluginFactory, plugin_home: HangarPaths, plugins_dir: object
) -> None:
    make_plugin(
        "quiet",
        """
        class Q(Plugin):
            name = "quiet"
            def render(self, viewport, generation):
                self.host.log("trace", "deep")
                return WireBuffer(1, 1)
        run(Q())
        """,
    )
    host = PluginHost(
        paths=plugin_home,
        dirs=[(plugins_dir, "env")],
        policy=FAST,
        log_level="trace",  # type: ignore[list-item]
    )
    async with host:
        await host.render("quiet", Viewport(1, 1))
        await wait_until(lambda: any(r["msg"] == "deep" for r in read_log(plugin_home)))


async def test_plugin_error_answers_pass_through(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    from hangar.proto.jsonrpc import RpcError

    rt_host.load(
        make_plugin(
            "grumpy",
            """
            class G(Plugin):
                name = "grumpy"
                def render(self, viewport, generation):
                    raise PluginRpcError(-32602, "viewport too small")
                def cli_dispatch(self, namespace, argv):
                    raise KeyError("boom")
            run(G())
            """,
            provides='cli_namespaces = ["grumpy"]',
        )
    )
    with pytest.raises(RpcError) as err:
        await rt_host.render("grumpy", Viewport(1, 1))
    assert (err.value.code, err.value.message) == (-32602, "viewport too small")
    with pytest.raises(RpcError, match="KeyError") as err:
        await rt_host.cli_dispatch("grumpy", [])
    assert err.value.code == -32603
    with pytest.raises(RpcError) as err:
        await rt_host.request("grumpy", "plugin/teleport")
    assert err.value.code == -32601
    with pytest.raises(RpcError) as err:  # bad params are the plugin's -32602, not a crash
        await rt_host.request("grumpy", "plugin/render", {"viewport": "big"})
    assert err.value.code == -32602
    assert rt_host.state("grumpy") is PluginState.RUNNING


def test_log_lines_are_bounded(plugin_home: HangarPaths) -> None:
    from hangar.plugins.runtime.logsink import PluginLog

    log = PluginLog(plugin_home.logs)
    log.write("info", "plugin.log", "big", "m" * 100_000, blob="x" * 100_000)
    log.write("debug", "plugin.log", "big", "below the level")
    log.close()
    (line,) = read_log(plugin_home)
    assert line["truncated"] is True and "blob" not in line
    assert len(str(line["msg"])) == 8192


# Answers plugin/init, then runs __BODY__; ``send(obj)`` writes one JSON-RPC message.
RAW_CLIENT = """#!/usr/bin/env python3
import json, sys, time
from hangar.proto.framing import read_frame_sync, write_frame_sync
inp, out = sys.stdin.buffer, sys.stdout.buffer
def send(obj):
    write_frame_sync(out, json.dumps(obj).encode())
req = json.loads(read_frame_sync(inp))
send({"jsonrpc": "2.0", "id": req["id"], "result": {"name": "__ID__", "version": "0.1.0"}})
__BODY__
time.sleep(60)
"""


def raw_client(plugin_id: str, body: str) -> str:
    return RAW_CLIENT.replace("__ID__", plugin_id).replace("__BODY__", body)


async def test_error_answers_do_not_echo_huge_plugin_input(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    body = """
send({"jsonrpc": "2.0", "id": "big", "method": "x" * 1_000_000})
while True:
    msg = json.loads(read_frame_sync(inp))
    if msg.get("id") == "big":
        print("answer", len(json.dumps(msg)), msg["error"]["code"], file=sys.stderr, flush=True)
        break
"""
    rt_host.load(make_plugin("echoer", raw_client("echoer", body), raw=True))
    await rt_host.ensure_running("echoer")

    def answer() -> list[str]:
        lines = [r for r in read_log(rt_host.paths) if r["event"] == "plugin.stderr"]
        return [str(r["msg"]) for r in lines if str(r["msg"]).startswith("answer")]

    await wait_until(answer)
    _, size, code = answer()[0].split()
    assert code == "-32601"
    assert int(size) < 2000  # not 1 MB: the echoed method name is clipped


# Never reads stdin after init; sends requests the host answers with an error.
STALLER = """
method = "nope/" + "x" * 2000
for i in range(__BURST__):
    send({"jsonrpc": "2.0", "id": i, "method": method})
i = __BURST__
while True:  # keep asking, slowly: every answer has to queue up in the host
    i += 1
    send({"jsonrpc": "2.0", "id": i, "method": method})
    time.sleep(0.02)
"""


@pytest.mark.parametrize(
    ("bound", "burst", "why"),
    [
        ({"priority_bytes": 256 * 1024}, 5000, "bytes queued"),  # a flood: the byte cap
        ({"stdin_stall": 0.5}, 300, "blocked for over 0.5s"),  # a trickle: the time limit
    ],
)
async def test_a_plugin_that_stops_reading_stdin_is_a_crash(
    make_plugin: PluginFactory,
    plugin_home: HangarPaths,
    plugins_dir: object,
    bound: dict[str, Any],
    burst: int,
    why: str,
) -> None:
    limits = Limits(**bound)
    make_plugin("deaf", raw_client("deaf", STALLER.replace("__BURST__", str(burst))), raw=True)
    host = PluginHost(
        paths=plugin_home,
        dirs=[(plugins_dir, "env")],  # type: ignore[list-item]
        policy=FAST,
        limits=limits,
    )
    async with host:
        await host.ensure_running("deaf")
        conn = host.supervisor("deaf").conn
        assert conn is not None
        peak = 0

        def crashed() -> bool:
            nonlocal peak
            peak = max(peak, conn._priority_size)
            return host.status("deaf").crashes >= 1

        await wait_until(crashed, timeout=10)
        assert "stdin stalled" in (host.status("deaf").last_error or "")
        assert why in (host.status("deaf").last_error or "")
        assert peak <= limits.priority_bytes


async def test_a_malformed_result_is_the_plugins_fault(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    rt_host.load(
        make_plugin(
            "garbler",
            """
            class G(Plugin):
                name = "garbler"
                def render(self, viewport, generation):
                    return "not a buffer"
            run(G())
            """,
        )
    )
    with pytest.raises(PluginBadResult) as bad:
        await rt_host.render("garbler", Viewport(2, 1))
    assert str(bad.value).startswith("plugin garbler returned an invalid render result: ")
    assert "invalid params" not in str(bad.value)
    assert rt_host.state("garbler") is PluginState.RUNNING  # a wrong answer is no crash
    assert rt_host.status("garbler").crashes == 0


async def test_a_malformed_init_reply_is_a_crash_that_blames_the_plugin(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    bad_init = RAW.replace('"name": "{id}"', '"name": 7').format(id="x", bad=b"")
    rt_host.load(make_plugin("badinit", bad_init, raw=True))
    with pytest.raises(PluginQuarantined):
        await rt_host.ensure_running("badinit")
    reason = rt_host.status("badinit").last_error or ""
    assert reason.startswith("init failed: returned an invalid init result: ")
    assert "invalid params" not in reason
