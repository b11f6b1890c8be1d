"""Making the plugin call the host: by probe when it can, by proxy when it cannot.

Probe mode (the plugin declares the ``cts`` CLI namespace): the suite dispatches a probe
(``hangar.plugins.cts.probe``); the plugin makes the call through its SDK and its own
connection, and reports what came back. The axes then also check the host's side in the
``CtsHost`` taps, so a plugin cannot pass by reporting what the suite wants to hear.

Proxy mode (no ``cts`` namespace, e.g. the reference plugins): the suite issues the same
call on the plugin's behalf through ``PluginHost.on_plugin_request`` /
``on_plugin_notification`` with the plugin's supervisor: the entry points its connection
feeds, so its manifest's capability gate decides. That tests the runtime against the
plugin's grants; the plugin's part is to keep working afterwards, which each axis checks.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass
from typing import Any

from hangar.plugins import protocol as p
from hangar.plugins.cts.harness import Harness, step
from hangar.plugins.cts.probe import NAMESPACE, decode_reply
from hangar.plugins.cts.result import AxisFailure
from hangar.proto.jsonrpc import RpcError

__all__ = ["Driver", "Outcome"]


@dataclass(frozen=True)
class Outcome:
    """What one host call came back with, as the caller saw it."""

    result: Any = None
    code: int | None = None
    message: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.code is None

    def describe(self) -> str:
        return "ok" if self.ok else f"error {self.code} ({self.message})"

    def bytes_field(self, name: str) -> bytes | None:
        """A base64 field of the result (``None`` when absent or null)."""
        value = self.result.get(name) if isinstance(self.result, dict) else None
        return None if value is None else base64.b64decode(value)


class Driver:
    def __init__(self, h: Harness) -> None:
        self.h = h

    @property
    def probing(self) -> bool:
        return NAMESPACE in self.h.manifest.provides.cli_namespaces

    @property
    def mode(self) -> str:
        return "probe" if self.probing else "proxy"

    # -- the two transports ------------------------------------------------------------------

    async def probe(self, *argv: str, timeout: float | None = None) -> Outcome:
        """Run ``cts <argv…>`` in the plugin; its reply as an ``Outcome``."""
        what = f"probe `{NAMESPACE} {argv[0]}`"
        started = time.monotonic()
        out = await step(what, self.h.host.cli_dispatch(NAMESPACE, list(argv), timeout))
        seconds = time.monotonic() - started
        if out.exit_code != 0:
            err = out.stderr.decode("utf-8", "replace").strip()
            raise AxisFailure(f"{what}: exit {out.exit_code} ({err or 'no stderr'})")
        try:
            reply = decode_reply(out.stdout)
            error = reply.get("error")
            if isinstance(error, dict):
                code, message = int(error["code"]), str(error.get("message", ""))
                return Outcome(None, code, message, seconds)
        except (KeyError, TypeError, ValueError) as exc:
            raise AxisFailure(f"{what}: unreadable reply: {exc}") from None
        return Outcome(reply.get("result"), seconds=seconds)

    async def proxy_call(self, method: str, params: Any) -> Outcome:
        """The call as the plugin's connection would hand it to the host."""
        await self.h.start()
        started = time.monotonic()
        try:
            result = await self.h.host.on_plugin_request(
                self.h.supervisor, method, p.to_wire(params)
            )
        except RpcError as exc:
            return Outcome(None, exc.code, exc.message, time.monotonic() - started)
        return Outcome(p.to_wire(result), seconds=time.monotonic() - started)

    async def proxy_notify(self, method: str, params: Any) -> None:
        await self.h.start()
        await self.h.host.on_plugin_notification(self.h.supervisor, method, p.to_wire(params))

    # -- operations ---------------------------------------------------------------------------

    async def call(self, method: str, params: Any) -> Outcome:
        if self.probing:
            return await self.probe("call", method, json.dumps(p.to_wire(params)))
        return await self.proxy_call(method, params)

    async def read(self, path: str) -> Outcome:
        if self.probing:
            return await self.probe("read", path)
        return await self.proxy_call(p.FS_READ_FILE, p.FsPathParams(path))

    async def publish(self, topic: str, payload: bytes) -> Outcome:
        if self.probing:
            return await self.probe("publish", topic, base64.b64encode(payload).decode())
        await self.proxy_notify(p.SNAPSHOT_PUBLISH, p.SnapshotPublishParams(topic, payload))
        return Outcome({})

    async def get(self, topic: str) -> Outcome:
        if self.probing:
            return await self.probe("get", topic)
        return await self.proxy_call(p.SNAPSHOT_GET, p.SnapshotGetParams(topic))

    async def invoke(self, action: str, timeout_ms: int, wait: float) -> Outcome:
        """``host/action/invoke``; the suite waits at most ``wait`` seconds for the answer."""
        if self.probing:
            return await self.probe("invoke", action, str(timeout_ms), timeout=wait)
        params = p.ActionInvokeParams(action, b"", timeout_ms)
        return await step(
            "host/action/invoke", _within(self.proxy_call(p.ACTION_INVOKE, params), wait)
        )

    async def log(self, message: str) -> None:
        if self.probing:
            outcome = await self.probe("log", message)
            if not outcome.ok:
                raise AxisFailure(f"probe `cts log`: {outcome.describe()}")
            return
        for level in p.LOG_LEVELS:
            await self.proxy_notify(p.LOG, p.LogParams(level, message))

    async def events(self) -> list[tuple[str, bytes]]:
        """What the plugin says its ``handle_event`` received (probe mode only)."""
        outcome = await self.probe("events")
        if not outcome.ok or not isinstance(outcome.result, list):
            raise AxisFailure(f"probe `cts events`: {outcome.describe()}")
        return [(e["topic"], base64.b64decode(e["payload"])) for e in outcome.result]


async def _within(awaitable: Any, seconds: float) -> Any:
    return await asyncio.wait_for(awaitable, seconds)
