"""Lifecycle with real subprocess plugins: spawn, render, crash → backoff → respawn,
quarantine and reload, idle reap, shutdown grace then kill, and no orphans left behind."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from hangar.core.paths import HangarPaths
from hangar.plugins.protocol import Viewport, key
from hangar.plugins.runtime import (
    PluginCrashed,
    PluginHost,
    PluginNotFound,
    PluginQuarantined,
    PluginState,
    Policy,
)
from hangar.plugins.runtime.process import pid_alive
from tests.plugins.conftest import FAST, SDK_HEADER, PluginFactory, echo_body, read_log, wait_until


async def test_render_spawns_lazily_and_inits_with_grants(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    d = make_plugin(
        "grants",
        """
        class G(Plugin):
            name = "grants"
            version = "0.1.0"
            def render(self, viewport, generation):
                buf = WireBuffer(viewport.width, viewport.height)
                buf.text(0, 0, ",".join(self.granted))
                buf.text(0, 1, f"{viewport.width}x{viewport.height} g{generation}")
                buf.put(999, 0, Cell("!"))
                return buf
        run(G())
        """,
        caps='event_bus = true\nread_sessions = false\nnetwork = ["a.example"]',
    )
    rt_host.load(d)
    assert rt_host.state("grants") is PluginState.IDLE
    assert rt_host.pid("grants") is None
    buf = await rt_host.render("grants", Viewport(20, 2), generation=7)
    assert [line.rstrip() for line in buf.lines()] == ["event_bus,network", "20x2 g7"]
    assert rt_host.state("grants") is PluginState.RUNNING
    assert all(c.x < 20 for c, _ in buf.cells)  # the stray cell was clipped


async def test_full_80x24_render_keeps_every_cell(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    d = make_plugin(
        "full",
        """
        class Full(Plugin):
            name = "full"
            def render(self, viewport, generation):
                buf = WireBuffer(viewport.width, viewport.height)
                for y in range(viewport.height):
                    for x in range(viewport.width):
                        buf.put(x, y, Cell(chr(65 + (x + y) % 26), fg=Color(x, y, 7)))
                return buf
        run(Full())
        """,
    )
    rt_host.load(d)
    buf = await rt_host.render("full", Viewport(80, 24))
    assert len(buf.cells) == 1920
    assert buf.cells[81][1].symbol == "C" and buf.cells[81][1].fg is not None


async def test_unknown_plugin(rt_host: PluginHost) -> None:
    with pytest.raises(PluginNotFound):
        await rt_host.render("ghost", Viewport(1, 1))


async def test_crash_respawns_with_backoff(make_plugin: PluginFactory, rt_host: PluginHost) -> None:
    rt_host.load(make_plugin("phoenix", echo_body("phoenix")))
    first = await rt_host.render("phoenix", Viewport(30, 1))
    pid1 = rt_host.pid("phoenix")
    assert pid1 is not None and f"pid {pid1}" in first.lines()[0]

    await rt_host.kill("phoenix")
    assert rt_host.state("phoenix") in (PluginState.BACKOFF, PluginState.SPAWNING)
    again = await rt_host.render("phoenix", Viewport(30, 1))  # waits through the backoff
    pid2 = rt_host.pid("phoenix")
    assert pid2 not in (None, pid1) and f"pid {pid2}" in again.lines()[0]
    assert not pid_alive(pid1)
    status = rt_host.status("phoenix")
    assert (status.crashes, status.restarts) == (1, 1)
    assert "signal SIGKILL" in (status.last_error or "")

    crash = [r for r in read_log(rt_host.paths) if r["event"] == "plugin.crash"]
    assert crash and crash[0]["backoff_s"] == FAST.backoff_initial


def test_backoff_curve() -> None:
    policy = Policy()
    assert [policy.backoff(n) for n in range(1, 8)] == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


async def test_crash_during_request_fails_that_request(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    rt_host.load(
        make_plugin(
            "diver",
            """
            class D(Plugin):
                name = "diver"
                def render(self, viewport, generation):
                    os._exit(9)
            run(D())
            """,
        )
    )
    with pytest.raises(PluginCrashed):
        await rt_host.render("diver", Viewport(1, 1))
    await wait_until(lambda: rt_host.status("diver").crashes == 1)
    assert "exit 9" in (rt_host.status("diver").last_error or "")


BROKEN = "#!/usr/bin/env python3\nimport sys\nsys.exit(3)\n"


async def test_three_crashes_quarantine_until_reload(
    make_plugin: PluginFactory, rt_host: PluginHost, plugin_home: HangarPaths
) -> None:
    d = make_plugin("flaky", BROKEN, raw=True)
    rt_host.load(d)
    with pytest.raises(PluginQuarantined):
        await rt_host.ensure_running("flaky")
    assert rt_host.state("flaky") is PluginState.QUARANTINED
    assert rt_host.status("flaky").crashes == 3
    with pytest.raises(PluginQuarantined, match="quarantined"):
        await rt_host.render("flaky", Viewport(1, 1))

    # persisted: a second host (another ainb process) starts it quarantined
    state = json.loads((plugin_home.root / "plugins" / "state.json").read_text())
    assert "exit 3" in state["quarantined"]["flaky"]["reason"]
    other = PluginHost(paths=plugin_home, dirs=[(d.parent, "env")], policy=FAST)
    assert other.state("flaky") is PluginState.QUARANTINED

    # fixed and reloaded: back to Idle, then it runs
    (d / "flaky").write_text(
        "#!/usr/bin/env python3\nfrom hangar.plugins.sdk import Plugin, run\n"
        "class F(Plugin):\n    name = 'flaky'\nrun(F())\n"
    )
    await rt_host.reload("flaky")
    assert rt_host.state("flaky") is PluginState.IDLE
    assert not (plugin_home.root / "plugins" / "state.json").read_text().count("flaky")
    buf = await rt_host.render("flaky", Viewport(3, 1))
    assert buf.width == 3
    assert rt_host.status("flaky").crashes == 0
    assert any(r["event"] == "plugin.quarantined" for r in read_log(plugin_home))


async def test_reload_from_another_process_lifts_quarantine(
    make_plugin: PluginFactory, rt_host: PluginHost, plugin_home: HangarPaths
) -> None:
    d = make_plugin("flaky2", BROKEN, raw=True)
    rt_host.load(d)
    with pytest.raises(PluginQuarantined):
        await rt_host.ensure_running("flaky2")
    (d / "flaky2").write_text(SDK_HEADER + echo_body("flaky2"))
    rt_host.store.clear("flaky2")  # what `ainb plugins reload` does from its own process
    await rt_host.render("flaky2", Viewport(3, 1))
    assert rt_host.state("flaky2") is PluginState.RUNNING


async def test_idle_plugin_is_reaped(make_plugin: PluginFactory, rt_host: PluginHost) -> None:
    rt_host.load(make_plugin("sleepy", echo_body("sleepy"), lifecycle="idle_reap_secs = 0.3"))
    await rt_host.render("sleepy", Viewport(10, 1))
    pid = rt_host.pid("sleepy")
    assert pid is not None
    await wait_until(lambda: rt_host.state("sleepy") is PluginState.IDLE)
    await wait_until(lambda: not pid_alive(pid))
    assert rt_host.status("sleepy").crashes == 0  # a reap is not a crash
    assert rt_host.status("sleepy").last_exit == 0  # it left through plugin/shutdown
    assert any(r["event"] == "plugin.reap" for r in read_log(rt_host.paths))
    await rt_host.render("sleepy", Viewport(10, 1))  # and comes back on demand
    assert rt_host.pid("sleepy") not in (None, pid)


async def test_reap_disabled_with_zero(make_plugin: PluginFactory, rt_host: PluginHost) -> None:
    rt_host.load(make_plugin("awake", echo_body("awake"), lifecycle="idle_reap_secs = 0"))
    await rt_host.render("awake", Viewport(10, 1))
    rt_host.supervisor("awake").conn.activity -= 3600  # type: ignore[union-attr]
    await asyncio.sleep(FAST.reap_interval * 5)  # proving a negative: let the reaper tick
    assert rt_host.state("awake") is PluginState.RUNNING


async def test_shutdown_is_graceful(make_plugin: PluginFactory, rt_host: PluginHost) -> None:
    rt_host.load(make_plugin("polite", echo_body("polite")))
    await rt_host.render("polite", Viewport(10, 1))
    pid = rt_host.pid("polite")
    await rt_host.stop("polite")
    assert rt_host.state("polite") is PluginState.IDLE
    assert rt_host.status("polite").last_exit == 0
    assert pid is not None and not pid_alive(pid)


async def test_shutdown_grace_then_kill(make_plugin: PluginFactory, rt_host: PluginHost) -> None:
    rt_host.load(
        make_plugin(
            "stubborn",
            """
            class S(Plugin):
                name = "stubborn"
                def on_shutdown(self):
                    time.sleep(60)
            run(S())
            """,
        )
    )
    await rt_host.ensure_running("stubborn")
    pid = rt_host.pid("stubborn")
    await rt_host.stop("stubborn")  # grace is 1 s in FAST
    assert rt_host.state("stubborn") is PluginState.IDLE
    assert rt_host.status("stubborn").last_exit == -9
    assert pid is not None and not pid_alive(pid)


async def test_no_orphans_after_host_exit(
    make_plugin: PluginFactory, plugin_home: HangarPaths, plugins_dir: Path
) -> None:
    make_plugin(
        "parent",
        """
        import subprocess
        class P(Plugin):
            name = "parent"
            def on_init(self, granted):
                self.child = subprocess.Popen(["sleep", "60"])
            def render(self, viewport, generation):
                buf = WireBuffer(viewport.width, 1)
                buf.text(0, 0, str(self.child.pid))
                return buf
            def on_shutdown(self):
                time.sleep(60)  # never exits by itself: the group kill must get both
        run(P())
        """,
        lifecycle='spawn = "eager"',
    )
    host = PluginHost(paths=plugin_home, dirs=[(plugins_dir, "env")], policy=FAST)
    async with host:
        await host.ensure_running("parent")
        buf = await host.render("parent", Viewport(20, 1))
        child = int(buf.lines()[0].strip())
        plugin = host.pid("parent")
        assert plugin is not None and pid_alive(plugin) and pid_alive(child)
    await wait_until(lambda: not pid_alive(child) and not pid_alive(plugin))


async def test_eager_plugins_start_with_the_host(
    make_plugin: PluginFactory, plugin_home: HangarPaths, plugins_dir: Path
) -> None:
    make_plugin("early", echo_body("early"), lifecycle='spawn = "eager"')
    make_plugin("late", echo_body("late"))
    async with PluginHost(paths=plugin_home, dirs=[(plugins_dir, "env")], policy=FAST) as host:
        await wait_until(lambda: host.state("early") is PluginState.RUNNING)
        assert host.state("late") is PluginState.IDLE


async def test_keys_reach_the_plugin(make_plugin: PluginFactory, rt_host: PluginHost) -> None:
    rt_host.load(
        make_plugin(
            "keys",
            """
            class K(Plugin):
                name = "keys"
                typed = ""
                def handle_key(self, screen_id, key):
                    self.typed += f"{screen_id}:{key.char or key.name};"
                def render(self, viewport, generation):
                    buf = WireBuffer(viewport.width, 1)
                    buf.text(0, 0, self.typed)
                    return buf
            run(K())
            """,
        )
    )
    assert await rt_host.handle_key("keys", "main", key("q"))
    assert await rt_host.handle_key("keys", "main", key("esc"))
    buf = await rt_host.render("keys", Viewport(30, 1))  # answered after the keys, in order
    assert buf.lines()[0].rstrip() == "main:q;main:esc;"


async def test_missing_interpreter_or_binary_counts_as_crash(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    d = make_plugin("gone", "#!/bin/sh\nexit 0\n", raw=True)
    rt_host.load(d)
    (d / "gone").unlink()
    with pytest.raises(PluginQuarantined):
        await rt_host.ensure_running("gone")
    assert "cannot start" in (rt_host.status("gone").last_error or "")


async def test_native_executables_run_directly(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    # a shell plugin that answers init by hand: not a Python script, so exec'd as is
    init_reply = '{"jsonrpc":"2.0","id":1,"result":{"name":"native","version":"1.0.0"}}'
    script = f"""#!/bin/sh
    head -c 1 >/dev/null
    printf 'Content-Length: {len(init_reply)}\\r\\n\\r\\n%s' '{init_reply}'
    exec sleep 60
    """
    rt_host.load(make_plugin("native", script, raw=True))
    await rt_host.ensure_running("native")
    assert rt_host.state("native") is PluginState.RUNNING
    assert os.path.basename(rt_host.supervisor("native").spec.argv()[0]) == "native"


# Answers plugin/init, leaves a child holding the inherited stdout, and exits.
DIES_WITH_CHILD = """#!/usr/bin/env python3
import json, subprocess, sys
from hangar.proto.framing import read_frame_sync, write_frame_sync
req = json.loads(read_frame_sync(sys.stdin.buffer))
child = subprocess.Popen(["sleep", "60"])
with open("child.pids", "a") as fh:
    fh.write(f"{child.pid}\\n")
write_frame_sync(sys.stdout.buffer, json.dumps({"jsonrpc": "2.0", "id": req["id"],
    "result": {"name": "undead", "version": "0.1.0"}}).encode())
sys.exit(1)
"""


async def test_exit_is_a_crash_even_when_a_child_holds_stdout(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    d = make_plugin("undead", DIES_WITH_CHILD, raw=True)
    rt_host.load(d)
    await rt_host.ensure_running("undead")
    await wait_until(lambda: rt_host.status("undead").crashes >= 1)
    assert "exit 1" in (rt_host.status("undead").last_error or "")
    children = [int(x) for x in (d / "child.pids").read_text().split()]
    await wait_until(lambda: not any(pid_alive(c) for c in children))  # the group was killed


async def test_reload_from_another_process_forgets_the_crashes(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    d = make_plugin("flaky3", BROKEN, raw=True)
    rt_host.load(d)
    with pytest.raises(PluginQuarantined):
        await rt_host.ensure_running("flaky3")
    assert rt_host.status("flaky3").crashes == 3
    (d / "flaky3").write_text(SDK_HEADER + echo_body("flaky3"))
    rt_host.store.clear("flaky3")  # `ainb plugins reload` in another process
    await rt_host.render("flaky3", Viewport(3, 1))
    status = rt_host.status("flaky3")
    assert (status.crashes, status.last_error) == (0, None)  # one crash won't re-quarantine


async def test_quarantine_holds_when_state_json_cannot_be_written(
    make_plugin: PluginFactory, rt_host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    save, read_only = rt_host.store._save, [True]

    def save_unless_read_only(entries: dict[str, dict[str, object]]) -> None:
        if read_only[0]:
            raise PermissionError(13, "read-only file system")
        save(entries)

    monkeypatch.setattr(rt_host.store, "_save", save_unless_read_only)
    rt_host.load(make_plugin("flaky4", BROKEN, raw=True))
    with pytest.raises(PluginQuarantined):
        await rt_host.ensure_running("flaky4", timeout=5)
    assert rt_host.state("flaky4") is PluginState.QUARANTINED
    assert rt_host.store.get("flaky4") is None
    with pytest.raises(PluginQuarantined):  # held in memory: no respawn
        await rt_host.ensure_running("flaky4", timeout=1)
    assert rt_host.status("flaky4").crashes == 3
    assert any(r["event"] == "plugin.quarantine_unsaved" for r in read_log(rt_host.paths))
    read_only[0] = False
    await rt_host.reload("flaky4")  # a reload here still lifts it
    assert rt_host.state("flaky4") is PluginState.IDLE


def test_quarantine_store_keeps_concurrent_writers(tmp_path: Path) -> None:
    import threading

    from hangar.plugins.runtime.state import QuarantineStore

    path = tmp_path / "plugins" / "state.json"

    def writer(n: int) -> None:
        store = QuarantineStore(path)  # one per thread, as one per host process
        for i in range(15):
            store.quarantine(f"p{n}-{i}", "boom")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(QuarantineStore(path).load()) == 6 * 15


SUICIDAL = """
import signal
class S(Plugin):
    name = "{id}"
    def render(self, viewport, generation):
        print("about to go", file=sys.stderr, flush=True)
        if generation == 9:
            os.kill(os.getpid(), signal.SIGKILL)
        raise SystemExit(4)
run(S())
"""


async def test_a_request_that_loses_its_plugin_says_how_it_ended(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    rt_host.load(make_plugin("quitter", SUICIDAL.format(id="quitter")))
    with pytest.raises(PluginCrashed) as exited:
        await rt_host.render("quitter", Viewport(1, 1))
    assert str(exited.value) == "plugin quitter exited with status 4"
    assert exited.value.exit_code == 4
    log = exited.value.log_path
    assert log is not None and log.parent == rt_host.paths.logs
    assert "about to go" in log.read_text()  # its stderr is in that file by now

    with pytest.raises(PluginCrashed) as killed:
        await rt_host.render("quitter", Viewport(1, 1), generation=9)
    assert str(killed.value) == "plugin quitter was killed by signal SIGKILL"
    assert killed.value.exit_code == -9


async def test_a_crash_counts_though_the_host_closes_right_after(
    make_plugin: PluginFactory, plugin_home: HangarPaths, plugins_dir: Path
) -> None:
    make_plugin("oneshot", SUICIDAL.format(id="oneshot"))
    for n in (1, 2, 3):  # one short-lived host per crash, as one `ainb` run each
        host = PluginHost(paths=plugin_home, dirs=[(plugins_dir, "env")], policy=FAST)
        try:
            with pytest.raises(PluginCrashed):
                await host.render("oneshot", Viewport(1, 1))
        finally:
            await host.aclose()  # stops it at once: the crash before must still count
        assert host.status("oneshot").crashes == n
    assert "exit 4" in (host.store.get("oneshot") or {}).get("reason", "")
    later = PluginHost(paths=plugin_home, dirs=[(plugins_dir, "env")], policy=FAST)
    assert later.state("oneshot") is PluginState.QUARANTINED


async def test_a_failed_init_is_one_crash_then_a_respawn(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    d = make_plugin(
        "shaky",
        """
        marker = os.path.join(os.environ["AINB_PLUGIN_DIR"], "tried")
        if not os.path.exists(marker):  # the first start dies before answering init
            open(marker, "w").close()
            sys.exit(1)
        run(Plugin())
        """,
    )
    rt_host.load(d)
    await rt_host.ensure_running("shaky")
    status = rt_host.status("shaky")
    assert (status.state, status.crashes, status.restarts) == (PluginState.RUNNING, 1, 1)
    assert status.last_error == "init failed: stdout closed (exit 1)"
    assert rt_host.store.get("shaky") is None


def test_the_crash_window_is_shared_and_pruned(tmp_path: Path) -> None:
    from hangar.plugins.runtime.state import QuarantineStore

    path = tmp_path / "plugins" / "state.json"
    a, b = QuarantineStore(path), QuarantineStore(path)  # two hosts
    assert a.record_crash("x", 100.0, 60.0) == [100.0]
    assert b.record_crash("y", 110.0, 60.0) == [110.0]
    assert b.record_crash("x", 150.0, 60.0) == [100.0, 150.0]
    assert a.record_crash("x", 200.0, 60.0) == [150.0, 200.0]  # 100 fell out of the window
    assert "y" not in json.loads(path.read_text())["crashes"]  # nothing left in a window
    a.quarantine("x", "boom")
    assert b.clear("x") is True
    assert json.loads(path.read_text()) == {"crashes": {}, "quarantined": {}}
    assert a.record_crash("x", 201.0, 60.0) == [201.0]
    assert a.clear("x") is False and a.record_crash("x", 202.0, 60.0) == [202.0]
