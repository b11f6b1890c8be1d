"""Fixtures for the runtime, SDK and CLI tests: a private data home, plugin dirs in tmp,
and tiny plugin scripts written per test.

Only fixtures with ``plugin_``/``rt_`` names live here, so the reference and CTS suites
below this directory keep their own.
"""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from hangar.core.paths import HangarPaths
from hangar.plugins.runtime import PluginHost, Policy

#: A policy that makes crash/backoff/reap tests take fractions of a second.
FAST = Policy(
    backoff_initial=0.05,
    backoff_max=0.2,
    crash_window=30.0,
    request_timeout=5.0,
    start_timeout=10.0,
    shutdown_grace=1.0,
    provider_wait=3.0,
    reap_interval=0.1,
)

SDK_HEADER = """#!/usr/bin/env python3
import os, sys, time
from hangar.plugins.sdk import CliOutput, Plugin, PluginRpcError, paint, run
from hangar.plugins.protocol import Cell, Color, Viewport, WireBuffer
"""

PluginFactory = Callable[..., Path]


def manifest_text(
    plugin_id: str,
    *,
    caps: str = "",
    provides: str = "",
    subscribes: str = "",
    lifecycle: str = "",
    version: str = "0.1.0",
) -> str:
    parts = [f'[plugin]\nname = "{plugin_id}"\nversion = "{version}"\nabi_version = 2\n']
    for name, body in (
        ("capabilities", caps),
        ("provides", provides),
        ("subscribes", subscribes),
        ("lifecycle", lifecycle),
    ):
        if body:
            parts.append(f"[{name}]\n{textwrap.dedent(body).strip()}\n")
    return "\n".join(parts)


@pytest.fixture
def plugin_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HangarPaths:
    """A private data home, HOME and plugin search path: the real home is never touched."""
    home = tmp_path / "home"
    home.mkdir()
    data = tmp_path / "hangar"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AINB_HANGAR_HOME", str(data))
    monkeypatch.setenv("AINB_PLUGINS_DIR", str(tmp_path / "plugins"))
    (tmp_path / "plugins").mkdir()
    return HangarPaths(data)


@pytest.fixture
def plugins_dir(plugin_home: HangarPaths) -> Path:
    return plugin_home.root.parent / "plugins"


@pytest.fixture
def make_plugin(plugins_dir: Path) -> PluginFactory:
    """``make_plugin(id, body, caps=…, provides=…, raw=False)`` → the plugin's directory.

    ``body`` is Python appended to an SDK import header (or the whole script when
    ``raw=True``); ``manifest`` overrides the generated manifest text.
    """

    def make(
        plugin_id: str,
        body: str,
        *,
        raw: bool = False,
        manifest: str | None = None,
        root: Path | None = None,
        **sections: str,
    ) -> Path:
        d = (root or plugins_dir) / plugin_id
        d.mkdir(parents=True)
        script = textwrap.dedent(body) if raw else SDK_HEADER + textwrap.dedent(body)
        exe = d / plugin_id
        exe.write_text(script)
        exe.chmod(0o755)
        text = manifest if manifest is not None else manifest_text(plugin_id, **sections)
        (d / "manifest.toml").write_text(text)
        return d

    return make


@pytest.fixture
async def rt_host(plugin_home: HangarPaths, plugins_dir: Path) -> AsyncIterator[PluginHost]:
    """A host over ``plugins_dir``; plugins made before first use are discovered by
    ``rt_host.load``; the host is closed (all plugins stopped) after the test."""
    host = PluginHost(
        paths=plugin_home,
        dirs=[(plugins_dir, "env")],
        policy=FAST,
        home=Path(plugin_home.root.parent / "home"),
    )
    await host.start(eager=False)
    try:
        yield host
    finally:
        await host.aclose()


ECHO = """
class Echo(Plugin):
    name = "{id}"
    version = "0.1.0"

    def render(self, viewport, generation):
        buf = WireBuffer(viewport.width, viewport.height)
        buf.text(0, 0, f"gen {{generation}} pid {{os.getpid()}}")
        return buf

    def cli_dispatch(self, namespace, argv):
        if argv[:1] == ["echo"]:
            return CliOutput(stdout=(" ".join(argv[1:]) + "\\n").encode())
        if argv[:1] == ["fail"]:
            return CliOutput(stdout=b"partial\\n", stderr=b"it broke\\n", exit_code=3)
        return super().cli_dispatch(namespace, argv)

if __name__ == "__main__":
    run(Echo())
"""


def echo_body(plugin_id: str) -> str:
    return ECHO.format(id=plugin_id)


#: logs 20,000 lines per render: the host's log budget must hold
FLOOD = """
class Flood(Plugin):
    name = "flood"
    def render(self, viewport, generation):
        for i in range(20000):
            self.host.log("info", f"spam {i}")
        return WireBuffer(viewport.width, viewport.height)
run(Flood())
"""


async def wait_until(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    """Poll ``predicate`` to a deadline (never a bare sleep as synchronisation)."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)


def read_log(paths: HangarPaths) -> list[dict[str, object]]:
    import json

    lines: list[dict[str, object]] = []
    for f in sorted(paths.logs.glob("plugins.*.jsonl")):
        lines += [json.loads(x) for x in f.read_text().splitlines() if x.strip()]
    return lines
