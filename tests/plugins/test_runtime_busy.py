"""A plugin over its in-flight cap is told the host is busy, not that the host failed."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

from hangar.plugins import protocol as p
from hangar.plugins.runtime.connection import Connection, Limits
from hangar.proto.framing import encode_frame, read_frame


async def test_calls_over_the_in_flight_cap_get_busy() -> None:
    host_end, plugin_end = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=host_end)
    p_reader, p_writer = await asyncio.open_connection(sock=plugin_end)
    release = asyncio.Event()

    async def on_request(method: str, params: Any) -> Any:
        await release.wait()  # every call stays in flight until released
        return {}

    async def on_notification(method: str, params: Any) -> None:
        return None

    conn = Connection(
        "busy",
        reader,
        writer,
        on_request=on_request,
        on_notification=on_notification,
        log=lambda *a, **k: None,
        limits=Limits(inflight_from_plugin=2),
    )
    conn.start()
    try:
        for n in range(3):
            body = {"jsonrpc": "2.0", "id": n, "method": "host/log_noop", "params": {}}
            p_writer.write(encode_frame(json.dumps(body).encode()))
        await p_writer.drain()
        first = json.loads(await asyncio.wait_for(read_frame(p_reader), 10))  # type: ignore[arg-type]
        assert first["id"] == 2 and first["error"]["code"] == p.BUSY == -32008
        assert "retry later" in first["error"]["message"]
        release.set()
        answered = {
            json.loads(await asyncio.wait_for(read_frame(p_reader), 10))["id"] for _ in range(2)
        }  # type: ignore[arg-type]
        assert answered == {0, 1}
    finally:
        await conn.close()
        p_writer.close()
