"""A small stand-in for the Hangar daemon: the real socket protocol, toy methods.

Used two ways:

- in-process: ``ThreadedDaemon(paths, token)`` serves the socket from a background thread;
- as a program (``python fakedaemon.py``), spawned by ``ensure_daemon`` through
  ``HANGAR_DAEMON_CMD``: takes the single-instance flock (the loser exits 0, like the real one),
  writes the pid and token files, serves until SIGTERM. ``FAKE_DAEMON_MODE=crash`` makes it
  exit 3 at once; ``FAKE_DAEMON_START_DELAY=<s>`` delays the bind after taking the lock.

Methods after ``auth/hello``: ``ping``, ``echo`` (returns params), ``sleep {seconds, value}``,
``workspace/create {slug, name?}`` (answers a workspace row, as the real one does),
``fail {code, message, data?}``, ``emit {events}`` (pushes ``hangar/event`` notifications, then
answers), ``hold {events}`` (pushes, then answers only after ``release``), ``release``,
``emit_later {events, delay}`` (answers, then pushes), ``drop`` (closes the connection
without answering), ``garbage`` (sends a bad frame),
``bad_json`` (sends a frame that is not JSON), ``ask_client`` (sends the client a request and
returns the error code it answered with), ``other_notification``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from hangar.core.paths import HangarPaths
from hangar.proto import jsonrpc
from hangar.proto.framing import FrameError, read_frame, write_frame

Send = Callable[[bytes], Awaitable[None]]

TOKEN = "mdt_" + "A" * 52
"""The token the in-process fixtures use."""


class FakeDaemon:
    def __init__(self, paths: HangarPaths, token: str) -> None:
        self.paths = paths
        self.token = token
        self.connections = 0
        self.authenticated = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._released: asyncio.Event | None = None

    async def start(self) -> None:
        self._released = asyncio.Event()
        with contextlib.suppress(FileNotFoundError):
            self.paths.socket.unlink()
        self._server = await asyncio.start_unix_server(self._client, path=str(self.paths.socket))
        os.chmod(self.paths.socket, 0o600)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        with contextlib.suppress(FileNotFoundError):
            self.paths.socket.unlink()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        lock = asyncio.Lock()
        tasks: set[asyncio.Task[None]] = set()
        asked: dict[str, asyncio.Future[jsonrpc.Response]] = {}

        async def send(body: bytes) -> None:
            async with lock:
                await write_frame(writer, body)

        try:
            body = await read_frame(reader)
            if body is None:
                return
            msg = jsonrpc.decode_message(body)
            params = msg.params if isinstance(msg, jsonrpc.Request) else None
            if not (
                isinstance(msg, jsonrpc.Request)
                and msg.method == "auth/hello"
                and isinstance(params, dict)
                and params.get("token") == self.token
            ):
                req_id = msg.id if isinstance(msg, jsonrpc.Request) else None
                await send(jsonrpc.encode_error(req_id, jsonrpc.UNAUTHORIZED, "unauthorized"))
                return
            self.authenticated += 1
            await send(jsonrpc.encode_result(msg.id, {}))
            while (body := await read_frame(reader)) is not None:
                msg = jsonrpc.decode_message(body)
                if isinstance(msg, jsonrpc.Request):
                    task = asyncio.create_task(self._handle(msg, send, writer, asked))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                elif isinstance(msg, jsonrpc.Response) and isinstance(msg.id, str):
                    waiter = asked.pop(msg.id, None)
                    if waiter is not None:
                        waiter.set_result(msg)
        except (FrameError, jsonrpc.RpcError, ConnectionError):
            pass
        finally:
            for task in tasks:
                task.cancel()
            self._writers.discard(writer)
            writer.close()

    async def _handle(
        self,
        req: jsonrpc.Request,
        send: Send,
        writer: asyncio.StreamWriter,
        asked: dict[str, asyncio.Future[jsonrpc.Response]],
    ) -> None:
        p: Any = req.params if req.params is not None else {}
        m = req.method
        if m == "ping":
            await send(jsonrpc.encode_result(req.id, {}))
        elif m == "echo":
            await send(jsonrpc.encode_result(req.id, req.params))
        elif m == "workspace/create":
            row = {"id": "ws-1", "slug": p["slug"], "name": p.get("name") or p["slug"]}
            await send(jsonrpc.encode_result(req.id, {**row, "created_at": 1}))
        elif m == "sleep":
            await asyncio.sleep(p["seconds"])
            await send(jsonrpc.encode_result(req.id, p.get("value")))
        elif m == "fail":
            await send(jsonrpc.encode_error(req.id, p["code"], p["message"], p.get("data")))
        elif m in ("emit", "hold"):
            for event in p.get("events", []):
                await send(jsonrpc.encode_notification("hangar/event", event))
            if m == "hold":
                assert self._released is not None
                await self._released.wait()
            await send(jsonrpc.encode_result(req.id, {"emitted": len(p.get("events", []))}))
        elif m == "emit_later":
            await send(jsonrpc.encode_result(req.id, {}))
            await asyncio.sleep(p["delay"])
            for event in p["events"]:
                await send(jsonrpc.encode_notification("hangar/event", event))
        elif m == "release":
            assert self._released is not None
            self._released.set()
            await send(jsonrpc.encode_result(req.id, {}))
        elif m == "drop":
            writer.close()
        elif m == "garbage":
            writer.write(b"Content-Length: 5\n\nhello")
        elif m == "bad_json":
            await write_frame(writer, b"{this is not json")
        elif m == "ask_client":
            waiter: asyncio.Future[jsonrpc.Response] = asyncio.get_running_loop().create_future()
            asked["srv-1"] = waiter
            await send(jsonrpc.encode_request("srv-1", "client/do_something", {}))
            answer = await waiter
            code = answer.error.code if answer.error is not None else None
            await send(jsonrpc.encode_result(req.id, {"code": code}))
        elif m == "other_notification":
            await send(jsonrpc.encode_notification("something/else", {"x": 1}))
            await send(jsonrpc.encode_result(req.id, {}))
        else:
            await send(jsonrpc.encode_error(req.id, jsonrpc.METHOD_NOT_FOUND, f"no method {m}"))


class ThreadedDaemon:
    """A FakeDaemon on its own event loop in a background thread (for blocking clients)."""

    def __init__(self, paths: HangarPaths, token: str) -> None:
        self.daemon = FakeDaemon(paths, token)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.daemon.start(), self._loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.daemon.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def write_token(paths: HangarPaths, token: str) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    fd = os.open(paths.token, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")


async def _serve_until_signalled(paths: HangarPaths, token: str) -> None:
    daemon = FakeDaemon(paths, token)
    await daemon.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("fake daemon: serving", file=sys.stderr, flush=True)
    await stop.wait()
    await daemon.stop()


def main() -> int:
    paths = HangarPaths.from_env()
    print("fake daemon: starting (stdout)", flush=True)
    print(f"fake daemon: starting pid={os.getpid()}", file=sys.stderr, flush=True)
    if os.environ.get("FAKE_DAEMON_MODE") == "crash":
        print("fake daemon: boom, cannot open the database", file=sys.stderr, flush=True)
        return 3
    lock_fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("fake daemon: already running", file=sys.stderr, flush=True)
        return 0
    os.ftruncate(lock_fd, 0)
    os.write(lock_fd, f"{os.getpid()}\n".encode())
    paths.pid.write_text(f"{os.getpid()}\n")
    time.sleep(float(os.environ.get("FAKE_DAEMON_START_DELAY", "0")))
    if not paths.token.exists():
        write_token(paths, "mdt_" + secrets.token_hex(16))
    token = paths.token.read_text().strip()
    asyncio.run(_serve_until_signalled(paths, token))
    return 0


if __name__ == "__main__":
    sys.exit(main())
