"""The socket transport, in-process over a real unix socket: the first frame must be
auth/hello within one deadline, and a full house makes room for a client with the token."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hangar.daemon.rpc import server as server_mod
from hangar.daemon.rpc.auth import SOCKET_GRANT, Grant
from hangar.daemon.rpc.server import RpcServer
from hangar.proto.framing import encode_frame, read_frame
from hangar.proto.jsonrpc import UNAUTHORIZED, RpcError
from hangar.proto.routes import RouteTable

TOKEN = "hgr_test_token"


class _Log:
    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: None


class _OneToken:
    """The one token of these tests grants everything."""

    async def hello(self, token: str) -> Grant:
        if token != TOKEN:
            raise RpcError(UNAUTHORIZED, "unauthorized")
        return SOCKET_GRANT

    async def admit(self, grant: Grant, method: str) -> None:
        return None


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, path: Path) -> Client:
        return cls(*await asyncio.open_unix_connection(str(path)))

    async def send(self, obj: object) -> None:
        self.writer.write(encode_frame(json.dumps(obj).encode()))
        await self.writer.drain()

    async def read(self, timeout: float = 10.0) -> dict[str, Any] | None:
        body = await asyncio.wait_for(read_frame(self.reader), timeout)
        return None if body is None else json.loads(body)

    async def hello(self) -> dict[str, Any] | None:
        await self.send(
            {"jsonrpc": "2.0", "id": 0, "method": "auth/hello", "params": {"token": TOKEN}}
        )
        return await self.read()

    async def ping(self) -> dict[str, Any] | None:
        await self.send({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {}})
        return await self.read()

    async def closed_by_server(self, timeout: float = 5.0) -> bool:
        """True once the server has closed its end (whatever it sent before); well before
        the 10 s auth deadline would have closed it anyway."""

        async def drain() -> None:
            while await read_frame(self.reader) is not None:
                pass

        try:
            await asyncio.wait_for(drain(), timeout)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        return True

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RpcServer]:
    routes: RouteTable[Any] = RouteTable()

    async def ping(conn: Any, params: Any) -> dict[str, Any]:
        return {}

    async def slow(conn: Any, params: Any) -> dict[str, Any]:
        await asyncio.sleep(0.3)  # still working when the client's EOF arrives
        return {"slow": True}

    routes.add("ping", None, ping)
    routes.add("slow", None, slow)
    srv = RpcServer(tmp_path / "s.sock", routes, _OneToken(), _Log())
    await srv.start()
    yield srv
    await srv.stop()


async def test_a_first_frame_that_is_not_hello_closes_the_connection(server: RpcServer) -> None:
    for first in (
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "id": 1, "result": {}},  # a response
        {"not": "json-rpc"},
    ):
        c = await Client.open(server.socket_path)
        await c.send(first)
        answer = await c.read()
        assert answer is not None and answer["error"]["code"] in (-32000, -32600, -32700)
        assert await c.closed_by_server()
        c.close()


async def test_a_hello_that_never_completes_is_closed_at_the_deadline(
    server: RpcServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_mod, "AUTH_FIRST_FRAME_TIMEOUT_S", 0.5)
    c = await Client.open(server.socket_path)
    c.writer.write(b"Content-Length: 100\r\n\r\n{")  # a frame that never completes
    await c.writer.drain()
    answer = await c.read(timeout=10)
    assert answer is not None and answer["error"]["message"] == "auth timeout"
    c.close()


async def test_a_full_house_of_unauthenticated_connections_lets_a_real_client_in(
    server: RpcServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_mod, "MAX_CONNECTIONS", 4)
    squatters = [await Client.open(server.socket_path) for _ in range(4)]
    await _until(lambda: len(server.connections) == 4)
    fresh = await Client.open(server.socket_path)
    welcome = {"scope": "admin", "token_id": None}  # the socket token may do everything
    assert (await fresh.hello()) == {"jsonrpc": "2.0", "id": 0, "result": welcome}
    assert (await fresh.ping())["result"] == {}  # type: ignore[index]
    assert await squatters[0].closed_by_server()  # the oldest unauthenticated one gave way
    for c in (*squatters, fresh):
        c.close()


async def test_idle_authenticated_connections_give_way_oldest_first(
    server: RpcServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_mod, "MAX_CONNECTIONS", 3)
    idle = []
    for _ in range(3):
        c = await Client.open(server.socket_path)
        assert await c.hello()
        idle.append(c)
    assert await idle[1].ping() and await idle[2].ping()  # idle[0] has been idle the longest
    fresh = await Client.open(server.socket_path)
    assert await fresh.hello()
    assert await idle[0].closed_by_server()
    assert await idle[1].ping() and await idle[2].ping()  # the others still work
    for c in (*idle, fresh):
        c.close()


async def _until(predicate: Any, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not met"
        await asyncio.sleep(0.01)


async def test_deep_nesting_and_scalar_params_get_proper_answers(server: RpcServer) -> None:
    c = await Client.open(server.socket_path)
    assert await c.hello()
    deep = b'{"jsonrpc":"2.0","id":3,"method":"ping","params":' + b"[" * 5000 + b"]" * 5000 + b"}"
    c.writer.write(encode_frame(deep))
    answer = await c.read()
    assert answer is not None and answer["error"]["code"] == -32700
    assert "nested too deeply" in answer["error"]["message"]
    await c.send({"jsonrpc": "2.0", "id": 7, "method": "ping", "params": 3})
    answer = await c.read()
    assert answer is not None and (answer["id"], answer["error"]["code"]) == (7, -32600)
    assert (await c.ping())["result"] == {}  # type: ignore[index]  # the connection lives on
    c.close()


async def test_a_request_then_a_half_close_is_still_answered(server: RpcServer) -> None:
    c = await Client.open(server.socket_path)
    assert await c.hello()
    await c.send({"jsonrpc": "2.0", "id": 9, "method": "slow", "params": {}})
    c.writer.write_eof()  # done sending, still reading
    assert await c.read() == {"jsonrpc": "2.0", "id": 9, "result": {"slow": True}}
    assert await c.closed_by_server()
    c.close()
