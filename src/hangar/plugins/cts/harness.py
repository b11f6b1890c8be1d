"""One axis's world: a fresh ``PluginHost`` over a private data home and HOME, torn down after.

``CtsHost`` is the real runtime with taps: it records every plugin → host call and the
host's answer, every delivery posted to a plugin, and every pid it ran, so an axis can
check what the host did rather than trust the plugin's word.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, TypeVar

from hangar.core.paths import HOME_ENV, HangarPaths
from hangar.plugins import protocol as p
from hangar.plugins.cts.result import AxisFailure
from hangar.plugins.manifest import Manifest
from hangar.plugins.protocol import Viewport, WireBuffer
from hangar.plugins.runtime import process
from hangar.plugins.runtime.discovery import PLUGINS_DIR_ENV, PluginSpec
from hangar.plugins.runtime.errors import PluginCrashed, PluginError, PluginTimeout
from hangar.plugins.runtime.host import LOG_LEVEL_ENV, PluginHost
from hangar.plugins.runtime.supervisor import Policy, Supervisor
from hangar.proto.jsonrpc import RpcError

__all__ = [
    "CTS_POLICY",
    "FULL",
    "LARGE",
    "SMALL",
    "CtsHost",
    "Harness",
    "Reverse",
    "describe",
    "first_line",
    "step",
]

T = TypeVar("T")

#: Tunables that keep an axis well under a second: quick backoff, short grace. The crash
#: window and crash limit are the production ones, so quarantine is tested as shipped.
CTS_POLICY: Final = Policy(
    backoff_initial=0.05,
    backoff_max=0.2,
    crash_window=60.0,
    max_crashes=3,
    request_timeout=5.0,
    cli_timeout=5.0,
    start_timeout=8.0,
    shutdown_grace=1.5,  # a loaded machine; axis 11's own SHUTDOWN_GRACE catches slow ones
    provider_wait=0.5,
    reap_interval=1.0,
)

SMALL: Final = Viewport(40, 12)
"""The "does it still render" viewport: every axis but framing and determinism uses it."""
FULL: Final = Viewport(80, 24)
"""Axis 2's viewport, and no other axis's (a framing fault there fails axis 2 alone)."""
LARGE: Final = Viewport(100, 30)
"""Axis 5's viewport."""


@dataclass(frozen=True)
class Reverse:
    """One plugin → host request and how the host answered it."""

    method: str
    params: Any
    code: int | None
    """The error code the host answered, ``None`` for a result."""


class CtsHost(PluginHost):
    """The real runtime, with taps on what crosses the plugin boundary."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reverse: list[Reverse] = []
        self.deliveries: list[str] = []
        """Topics of the ``plugin/handle_event`` deliveries queued on a plugin's connection."""
        self.pids: list[int] = []

    async def on_plugin_request(self, sup: Supervisor, method: str, params: Any) -> Any:
        try:
            result = await super().on_plugin_request(sup, method, params)
        except RpcError as exc:
            self.reverse.append(Reverse(method, params, exc.code))
            raise
        self.reverse.append(Reverse(method, params, None))
        return result

    def on_running(self, sup: Supervisor) -> None:
        conn = sup.conn
        if sup.pid is not None:
            self.pids.append(sup.pid)
        if conn is not None:  # tap deliveries first: the catch-up below is one too
            post = conn.post_event

            def tapped(topic: str, bodies: list[bytes]) -> None:
                self.deliveries.append(topic)
                post(topic, bodies)

            conn.post_event = tapped  # type: ignore[method-assign]
        super().on_running(sup)


class Harness:
    """``async with Harness(dir) as h:`` a running host with the plugin loaded (not started)."""

    def __init__(
        self, plugin_dir: Path, policy: Policy = CTS_POLICY, log_level: str = "info"
    ) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="ainb-cts-"))
        self.home = self.tmp / "home"
        self.home.mkdir()
        data = self.tmp / "hangar"
        env = dict(os.environ)
        # the plugin sees only the private homes; our own overrides must not leak in
        env.update({"HOME": str(self.home), HOME_ENV: str(data)})
        for name in (LOG_LEVEL_ENV, PLUGINS_DIR_ENV):
            env.pop(name, None)
        try:
            self.host = CtsHost(
                paths=HangarPaths(data),
                dirs=[],
                policy=policy,
                log_level=log_level,
                home=self.home,
                env=env,
            )
            self.spec: PluginSpec = self.host.load(plugin_dir)
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        self.leaked: list[int] = []

    async def __aenter__(self) -> Harness:
        await self.host.start(eager=False)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.host.aclose()
        finally:
            # the runtime kills each plugin's process group; anything left escaped it
            for pid in self.host.pids:
                if process.group_alive(pid):
                    self.leaked.append(pid)
                    process.kill_group(pid)
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- the plugin under test ------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def manifest(self) -> Manifest:
        return self.spec.manifest

    @property
    def supervisor(self) -> Supervisor:
        return self.host.supervisor(self.id)

    @property
    def data_dir(self) -> Path:
        return self.host.data_dir(self.id)

    async def start(self) -> int:
        """Make sure it runs; its pid."""
        await step("start", self.host.ensure_running(self.id))
        pid = self.host.pid(self.id)
        if pid is None:
            raise AxisFailure("start: running, but no pid")
        return pid

    async def render(self, viewport: Viewport = SMALL, what: str = "render") -> WireBuffer:
        return await step(
            f"{what} {viewport.width}x{viewport.height}", self.host.render(self.id, viewport)
        )

    async def render_raw(self, viewport: Viewport) -> Any:
        """The plugin's render answer as decoded JSON, before the host clips it."""
        params = p.RenderParams(viewport, 0)
        return await step(
            f"render {viewport.width}x{viewport.height}",
            self.host.request(self.id, p.RENDER, params),
        )

    def log_entries(self) -> list[dict[str, Any]]:
        """The host's plugin log lines so far (every day's file, oldest first)."""
        entries: list[dict[str, Any]] = []
        for path in sorted(self.host.paths.logs.glob("plugins.*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict) and entry.get("plugin") == self.id:
                    entries.append(entry)
        return entries

    async def still_works(self, pid: int, what: str = "afterwards") -> None:
        """It renders, and it is the same process as before (no silent respawn)."""
        await self.render(SMALL, f"{what}: render")
        now = self.host.pid(self.id)
        if now != pid:
            raise AxisFailure(f"{what}: the plugin was restarted (pid {pid} -> {now})")


async def step(what: str, awaitable: Awaitable[T]) -> T:
    """Await ``awaitable``; a runtime or RPC error fails the axis, saying what was going on."""
    try:
        return await awaitable
    except (PluginError, RpcError, TimeoutError) as exc:
        raise AxisFailure(f"{what}: {describe(exc)}") from None


def describe(exc: BaseException) -> str:
    if isinstance(exc, PluginCrashed):
        return f"plugin crashed ({exc.message})"
    if isinstance(exc, PluginTimeout):
        return f"no answer ({exc.message})"
    if isinstance(exc, PluginError):
        return exc.message
    if isinstance(exc, RpcError):
        return f"error {exc.code} ({exc.message})"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"


def first_line(text: str, limit: int = 240) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
