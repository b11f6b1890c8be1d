"""The event bus end to end: publish/get/subscribe, chunked payloads both ways, providers
spawned on demand, and host actions with their timeout."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json

import pytest

from hangar.plugins.protocol import CHUNK_SIZE, Chunk
from hangar.plugins.runtime import PluginHost, PluginState, SnapshotBus
from tests.plugins.conftest import PluginFactory, wait_until

BIG = bytes(range(256)) * (CHUNK_SIZE // 256 * 2 + 1000)  # > 2 chunks

# CLI verbs: ``pub TOPIC SIZE`` publishes a patterned payload, ``get TOPIC`` prints its digest,
# ``sub TOPIC`` subscribes (host calls are refused before the init answer: not in on_init).
# Every handle_event is acknowledged on ``ack.<topic>`` with the payload's digest.
BUSSY = """
import hashlib, json
def pattern(n):
    return (bytes(range(256)) * (n // 256 + 1))[:n]
def digest(b):
    return {{"len": len(b), "sha": hashlib.sha256(b).hexdigest()}}
class Bussy(Plugin):
    name = "{id}"
    def handle_event(self, topic, payload):
        self.host.publish("ack." + topic, json.dumps(digest(payload)).encode())
    def cli_dispatch(self, namespace, argv):
        if argv[0] == "pub":
            self.host.publish(argv[1], pattern(int(argv[2])))
            return CliOutput()
        if argv[0] == "sub":
            self.host.subscribe(argv[1])
            return CliOutput()
        if argv[0] == "get":
            value = self.host.get(argv[1])
            return CliOutput(stdout=json.dumps(None if value is None else digest(value)).encode())
        if argv[0] == "invoke":
            try:
                out = self.host.invoke(argv[1], argv[2].encode(), int(argv[3]))
            except PluginRpcError as exc:
                err = {{"code": exc.code, "message": exc.message}}
                return CliOutput(stdout=json.dumps(err).encode())
            return CliOutput(stdout=out)
        return super().cli_dispatch(namespace, argv)
run(Bussy())
"""


def digest(b: bytes) -> dict[str, object]:
    return {"len": len(b), "sha": hashlib.sha256(b).hexdigest()}


def pattern(n: int) -> bytes:
    return (bytes(range(256)) * (n // 256 + 1))[:n]


def bussy(
    make_plugin: PluginFactory,
    host: PluginHost,
    plugin_id: str,
    *,
    subscribes: list[str] | None = None,
    provides: list[str] | None = None,
) -> None:
    # publishing needs the topic in [provides].snapshots: declare what these tests publish
    topics = provides or ["t", "ack.t", "ack.d", "ack.other"]
    prov = f'cli_namespaces = ["{plugin_id}"]\nsnapshots = {json.dumps(topics)}'
    host.load(
        make_plugin(
            plugin_id,
            BUSSY.format(id=plugin_id),
            caps="event_bus = true",
            provides=prov,
            subscribes=f"snapshots = {json.dumps(subscribes)}" if subscribes else "",
        )
    )


async def cli(host: PluginHost, ns: str, *argv: str) -> bytes:
    out = await host.cli_dispatch(ns, list(argv))
    assert out.exit_code == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("size", [10, 3 * CHUNK_SIZE + 17])
async def test_plugin_publish_reaches_the_host(
    make_plugin: PluginFactory, rt_host: PluginHost, size: int
) -> None:
    bussy(make_plugin, rt_host, "pub")
    await cli(rt_host, "pub", "pub", "t", str(size))
    await wait_until(lambda: rt_host.snapshot("t") is not None)
    snap = rt_host.snapshot("t")
    assert snap is not None and snap.payload == pattern(size) and snap.source == "pub"
    assert snap.version == 1


@pytest.mark.parametrize("payload", [b"small", BIG])
async def test_get_returns_the_latest_publish(
    make_plugin: PluginFactory, rt_host: PluginHost, payload: bytes
) -> None:
    bussy(make_plugin, rt_host, "getter")
    assert json.loads(await cli(rt_host, "getter", "get", "t")) is None
    rt_host.publish("t", b"old")
    rt_host.publish("t", payload)
    assert json.loads(await cli(rt_host, "getter", "get", "t")) == digest(payload)
    assert rt_host.snapshot("t").version == 2  # type: ignore[union-attr]


@pytest.mark.parametrize("payload", [b"hello", BIG])
async def test_subscribers_get_handle_event(
    make_plugin: PluginFactory, rt_host: PluginHost, payload: bytes
) -> None:
    bussy(make_plugin, rt_host, "sub", subscribes=["t"])
    await rt_host.ensure_running("sub")
    rt_host.publish("t", payload)
    await wait_until(lambda: rt_host.snapshot("ack.t") is not None, timeout=10)
    assert json.loads(rt_host.snapshot("ack.t").payload) == digest(payload)  # type: ignore[union-attr]


async def test_plugin_to_plugin_and_catch_up_on_start(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    bussy(make_plugin, rt_host, "src")
    bussy(make_plugin, rt_host, "late", subscribes=["t"])
    await cli(rt_host, "src", "pub", "t", "100")
    await wait_until(lambda: rt_host.snapshot("t") is not None)
    # the subscriber was not running at publish time: it catches up when it starts
    await rt_host.ensure_running("late")
    await wait_until(lambda: rt_host.snapshot("ack.t") is not None)
    assert json.loads(rt_host.snapshot("ack.t").payload) == digest(pattern(100))  # type: ignore[union-attr]


async def test_dynamic_subscribe(make_plugin: PluginFactory, rt_host: PluginHost) -> None:
    bussy(make_plugin, rt_host, "dyn")
    await cli(rt_host, "dyn", "sub", "d")
    rt_host.publish("d", b"x")
    await wait_until(lambda: rt_host.snapshot("ack.d") is not None)
    rt_host.publish("other", b"x")  # not subscribed: nothing comes back
    rt_host.publish("d", b"xy")
    await wait_until(lambda: json.loads(rt_host.snapshot("ack.d").payload)["len"] == 2)  # type: ignore[union-attr]
    assert rt_host.snapshot("ack.other") is None


async def test_get_spawns_the_provider(make_plugin: PluginFactory, rt_host: PluginHost) -> None:
    provider = make_plugin(
        "provider",
        """
        class P(Plugin):
            name = "provider"
            def on_init(self, granted):
                self.host.publish("usage", b"42 tokens")
        run(P())
        """,
        caps="event_bus = true",
        provides='snapshots = ["usage"]',
    )
    rt_host.load(provider)
    bussy(make_plugin, rt_host, "consumer")
    assert rt_host.state("provider") is PluginState.IDLE
    got = json.loads(await cli(rt_host, "consumer", "get", "usage"))
    assert got == digest(b"42 tokens")
    # it published from on_init, before its init answer: Running follows
    await wait_until(lambda: rt_host.state("provider") is PluginState.RUNNING)


async def test_get_without_provider_answers_none_quickly(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    bussy(make_plugin, rt_host, "alone")
    # start it first: only the get is timed, not the plugin's spawn and init
    await rt_host.ensure_running("alone")
    # a provider wait far past the bound: waiting for one that does not exist would show
    rt_host.policy = dataclasses.replace(rt_host.policy, provider_wait=60.0)
    got = await asyncio.wait_for(cli(rt_host, "alone", "get", "nobody"), 5)
    assert json.loads(got) is None


async def test_action_invoke_and_timeout(make_plugin: PluginFactory, rt_host: PluginHost) -> None:
    async def slow(payload: bytes) -> bytes:
        await asyncio.sleep(30)
        return payload

    rt_host.register_action("upper", lambda b: b.upper())
    rt_host.register_action("slow", slow)
    bussy(make_plugin, rt_host, "act")
    assert await cli(rt_host, "act", "invoke", "upper", "abc", "1000") == b"ABC"
    got = json.loads(await asyncio.wait_for(cli(rt_host, "act", "invoke", "slow", "x", "200"), 5))
    assert got == {"code": -32002, "message": "action slow timed out after 200 ms"}
    missing = json.loads(await cli(rt_host, "act", "invoke", "nope", "x", "0"))
    assert missing == {"code": -32601, "message": "unknown action: nope"}


async def test_sync_action_timeout_and_failure(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    import time

    def blocking(payload: bytes) -> bytes:
        time.sleep(1.0)
        return payload

    def broken(payload: bytes) -> bytes:
        raise ValueError("nope")

    rt_host.register_action("blocking", blocking)
    rt_host.register_action("broken", broken)
    bussy(make_plugin, rt_host, "act2")
    got = json.loads(await cli(rt_host, "act2", "invoke", "blocking", "x", "100"))
    assert got["code"] == -32002
    bad = json.loads(await cli(rt_host, "act2", "invoke", "broken", "x", "0"))
    assert bad == {"code": -32603, "message": "action broken failed: nope"}


# -- the bus alone -----------------------------------------------------------------------------


def chunk(i: int, final: bool, version: int = 1) -> Chunk:
    return Chunk(version, 0, True, i, final, b"ab")


async def test_bus_drops_follow_on_chunks_without_chunk_zero() -> None:
    bus = SnapshotBus()
    assert bus.publish_chunk("t", chunk(1, False), "p") is None
    assert bus.publish_chunk("t", chunk(2, True), "p") is None
    assert bus.latest("t") is None and bus.dropped == 2
    bus.publish_chunk("t", chunk(0, False), "p")
    bus.publish_chunk("t", chunk(0, False), "q")  # another publisher does not interfere
    snap = bus.publish_chunk("t", chunk(1, True), "p")
    assert snap is not None and snap.payload == b"abab"


async def test_bus_caps_payload_size() -> None:
    bus = SnapshotBus(max_payload=3)
    assert bus.publish("t", b"four", "p") is None
    assert bus.latest("t") is None and bus.dropped == 1


async def test_bus_wait_and_listeners() -> None:
    bus = SnapshotBus()
    seen: list[str] = []
    stop = bus.add_listener(lambda s: seen.append(s.topic))
    assert await bus.wait("t", 0.05) is None
    waiter = asyncio.create_task(bus.wait("t", 5))
    await asyncio.sleep(0)
    bus.publish("t", b"x", "host")
    assert (await waiter).payload == b"x"  # type: ignore[union-attr]
    stop()
    bus.publish("t", b"y", "host")
    assert seen == ["t"]


async def test_bus_caps_topics() -> None:
    bus = SnapshotBus(max_topics=2)
    bus.publish("a", b"1", "p")
    bus.publish("b", b"1", "p")
    assert bus.publish("c", b"1", "p") is None  # a third topic is refused
    assert bus.publish("a", b"2", "p") is not None  # existing topics still update
    assert bus.topics() == ["a", "b"] and bus.dropped == 1


async def test_bus_bounds_half_received_payloads() -> None:
    bus = SnapshotBus()
    for i in range(100):  # chunk 0 on many topics, never finished
        bus.publish_chunk(f"t{i}", chunk(0, False), "p")
    assert bus.dropped == 100 - 64
    bus.forget_source("p")
    assert bus.publish_chunk("t99", chunk(1, True), "p") is None  # forgotten with its source
