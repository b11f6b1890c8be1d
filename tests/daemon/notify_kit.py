"""What the notification tests share: a webhook receiver on 127.0.0.1, fake tools, and a
daemon wired in-process with notification settings for tests."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hangar.adapters.secrets import MemoryStore
from hangar.core.clock import FixedClock
from hangar.testing import InProcessDaemon, daemon_in_process

#: settings that keep retries and timeouts short (no test waits seconds for a retry)
FAST = {
    "HANGAR_NOTIFY_RETRY": "10ms",
    "HANGAR_NOTIFY_ATTEMPTS": "4",
    "HANGAR_NOTIFY_TIMEOUT": "20s",
    "HANGAR_NOTIFY_WINDOW": "0",
}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A tiny HTTP server: answers each request with the next scripted status (then 200)."""

    statuses: list[int] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> Receiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {
                k.strip().lower(): v.strip()
                for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(Request(method, path, headers, body))
            code = self.statuses.pop(0) if self.statuses else 200
            writer.write(
                f"HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
        finally:
            writer.close()


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def script(path: Path, body: str) -> Path:
    """An executable Python script at ``path``."""
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)
    return path


def fake_notify_send(bindir: Path, record: Path) -> Path:
    """``notify-send`` that appends its argv (one JSON list per line) to ``record``."""
    bindir.mkdir(parents=True, exist_ok=True)
    return script(
        bindir / "notify-send",
        "import json, sys\n"
        f"with open({str(record)!r}, 'a') as f:\n"
        "    f.write(json.dumps(sys.argv[1:]) + '\\n')\n",
    )


def catcher(path: Path, record: Path) -> Path:
    """A command that appends its stdin (one JSON document per line) and its event
    variable to ``record``."""
    return script(
        path,
        "import json, os, sys\n"
        "doc = json.loads(sys.stdin.read())\n"
        "doc['_env_event'] = os.environ.get('HANGAR_NOTIFY_EVENT')\n"
        "doc['_env_keys'] = sorted(os.environ)\n"
        f"with open({str(record)!r}, 'a') as f:\n"
        "    f.write(json.dumps(doc) + '\\n')\n",
    )


def lines(path: Path) -> list[Any]:
    try:
        return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]
    except FileNotFoundError:
        return []


@asynccontextmanager
async def notified(
    home: Path, *, path_prefix: Path | None = None, secrets: MemoryStore | None = None, **env: str
) -> AsyncIterator[InProcessDaemon]:
    """An in-process daemon with fast notification settings (``env`` overrides them)."""
    settings = {**FAST, **env}
    if path_prefix is not None:
        settings["PATH"] = f"{path_prefix}{os.pathsep}{os.environ.get('PATH', os.defpath)}"
    async with daemon_in_process(
        home, clock=FixedClock(), env=settings, secrets=secrets or MemoryStore()
    ) as d:
        yield d


async def deliveries(hangar: InProcessDaemon, channel_id: str) -> list[dict[str, Any]]:
    listed = await hangar.call("hangar/notify_list")
    for ch in listed["channels"]:
        if ch["id"] == channel_id:
            return list(ch["deliveries"])
    return []
