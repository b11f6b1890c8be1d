"""Bounds a misbehaving plugin cannot get past: the host/log budget, the bus's byte budgets,
no spawns once the host is closing, terminal controls stripped from cells, fs work on
daemon threads, and big snapshots sliced once per version."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from hangar.core.paths import HangarPaths
from hangar.plugins import protocol as p
from hangar.plugins.protocol import Viewport
from hangar.plugins.runtime import PluginError, PluginHost, PluginState, services
from hangar.plugins.runtime.bus import BusLimits, SnapshotBus
from hangar.plugins.runtime.logsink import LogBudget
from tests.plugins.conftest import FAST, FLOOD, PluginFactory, echo_body, read_log


async def test_host_log_flood_is_rate_limited_by_a_real_host(
    make_plugin: PluginFactory, plugin_home: HangarPaths, plugins_dir: Path
) -> None:
    make_plugin("flood", FLOOD)
    host = PluginHost(paths=plugin_home, dirs=[(plugins_dir, "env")], policy=FAST)
    async with host:
        started = time.monotonic()
        await host.render("flood", Viewport(3, 1), timeout=30)
        await host.stop("flood")  # every queued line handled; leftover drops reported
        elapsed = time.monotonic() - started
    log = read_log(plugin_home)
    kept = [r for r in log if r["event"] == "plugin.log"]
    # 200 lines per one-second window (the default), however fast the plugin writes
    assert 0 < len(kept) <= 200 * (int(elapsed) + 2)
    reports = [r for r in log if r["event"] == "plugin.log_dropped"]
    assert reports and sum(int(r["dropped"]) for r in reports) + len(kept) <= 20000  # type: ignore[call-overload]
    assert len(reports) <= int(elapsed) + 2  # one report a second, not one per drop
    assert host.status("flood").dropped_logs > 0


def test_log_budget_counts_lines_and_bytes_per_second() -> None:
    now = [0.0]
    budget = LogBudget(lines=3, nbytes=100, clock=lambda: now[0])
    assert [budget.allow(10) for _ in range(4)] == [True, True, True, False]
    assert budget.report_due() == 0  # the first report waits for a second to pass
    now[0] = 1.0
    assert budget.allow(90) and not budget.allow(20)  # 110 bytes > 100 in this window
    assert budget.report_due() == 2 and budget.report_due() == 0
    assert budget.dropped == 2
    now[0] = 1.5
    assert not budget.allow(20)  # same window: 90 + 20 bytes
    assert budget.report_due() == 0 and budget.report_due(force=True) == 1


def test_bus_holds_a_byte_budget_per_publisher_and_in_all() -> None:
    bus = SnapshotBus(limits=BusLimits(max_bytes=10, max_bytes_per_source=6))
    assert bus.publish("a", b"1234", "p") is not None
    assert bus.publish("b", b"123", "p") is None  # p would hold 7 > 6
    assert bus.publish("a", b"123456", "p") is not None  # a replacement frees the old bytes
    assert bus.publish("c", b"1234", "q") is not None
    assert bus.publish("d", b"1", "r") is None  # 11 > 10 in all
    assert bus.publish("d", b"1", "host") is None  # the host is held to the global budget
    assert (bus.held(), bus.held("p"), bus.held("q"), bus.dropped) == (10, 6, 4, 3)
    assert bus.publish("a", b"1", "q") is not None  # q takes the topic over: p holds nothing
    assert (bus.held(), bus.held("p"), bus.held("q")) == (5, 0, 5)


def test_bus_reassembly_holds_a_byte_budget_per_publisher() -> None:
    bus = SnapshotBus(limits=BusLimits(partial_bytes=8, partial_bytes_per_source=4))

    def part(i: int, final: bool = False) -> p.Chunk:
        return p.Chunk(1, 0, True, i, final, b"ab")

    for topic in ("t1", "t2", "t3"):  # 2 bytes each: p may hold two
        bus.publish_chunk(topic, part(0), "p")
    assert bus.dropped == 1
    bus.publish_chunk("t1", part(0), "q")
    bus.publish_chunk("t1", part(0), "r")  # 8 bytes half received in all
    bus.publish_chunk("t1", part(0), "s")
    assert bus.dropped == 2  # over the global budget
    bus.forget_source("p")  # a publisher gone frees its bytes
    bus.publish_chunk("t1", part(0), "s")
    assert bus.publish_chunk("t1", part(1, final=True), "s") is not None
    assert bus.dropped == 2


async def test_no_plugin_starts_once_the_host_is_closing(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    rt_host.load(make_plugin("late", echo_body("late")))
    await rt_host.aclose()
    with pytest.raises(PluginError, match="shutting down"):
        await rt_host.ensure_running("late")
    with pytest.raises(PluginError, match="shutting down"):
        await rt_host.render("late", Viewport(2, 1))
    rt_host._spawn_quietly("late")
    assert not rt_host._background
    assert rt_host.state("late") is PluginState.IDLE and rt_host.pid("late") is None


async def test_control_characters_never_leave_a_plugins_cells(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    rt_host.load(
        make_plugin(
            "osc",
            """
            class O(Plugin):
                name = "osc"
                def render(self, viewport, generation):
                    buf = WireBuffer(viewport.width, viewport.height)
                    buf.put(0, 0, Cell("\\x1b]52;c;aGk=\\x07"))  # OSC 52: set the clipboard
                    buf.put(1, 0, Cell("\\x9b"))  # C1 CSI
                    buf.put(2, 0, Cell("é"))
                    return buf
            run(O())
            """,
        )
    )
    buf = await rt_host.render("osc", Viewport(3, 1))
    symbols = [cell.symbol for _, cell in buf.cells]
    assert symbols == ["]52;c;aGk=", " ", "é"]
    assert all(ch.isprintable() for s in symbols for ch in s)


async def test_fs_work_runs_on_daemon_threads() -> None:
    # asyncio.run joins the default executor at exit: a stuck read there hangs `ainb`
    names = await services.run_in(services.fs_pool, lambda: threading.current_thread().name)
    assert names.startswith("plugin-fs")
    fs_threads = [t for t in threading.enumerate() if t.name.startswith("plugin-fs")]
    assert fs_threads and all(t.daemon for t in fs_threads)


async def test_a_big_snapshot_is_sliced_once_per_version(
    make_plugin: PluginFactory, rt_host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt_host.load(make_plugin("reader", echo_body("reader")))
    sup = rt_host.supervisor("reader")
    sup.state = PluginState.RUNNING  # served as if initialised; it never runs here
    calls = []
    real = p.chunk_payload

    def counting(*args: object) -> list[p.Chunk]:
        calls.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(p, "chunk_payload", counting)
    payload = bytes(range(256)) * (p.CHUNK_SIZE // 256 * 3 + 1)  # 4 chunks
    snap = rt_host.publish("big", payload)
    assert snap is not None
    got = []
    for i in range(4):
        q = p.SnapshotGetParams("big", snap.version if i else None, i)
        res = await rt_host._snapshot_get(sup, q)
        assert res.chunk is not None
        got.append(res.chunk.data)
    assert b"".join(got) == payload and len(calls) == 1
    newer = rt_host.publish("big", payload[::-1])
    assert newer is not None
    res = await rt_host._snapshot_get(sup, p.SnapshotGetParams("big", newer.version, 3))
    assert res.chunk is not None and res.chunk.is_final and len(calls) == 2
