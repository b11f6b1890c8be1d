"""Typed calls: a descriptor and its params struct in, the result struct out, both clients."""

from __future__ import annotations

from typing import assert_type

import msgspec
import pytest
from fakedaemon import ThreadedDaemon

from hangar.client import AsyncClient, RemoteError, ResultMismatch, SyncClient
from hangar.core.paths import HangarPaths
from hangar.proto import api, calls, jsonrpc
from hangar.proto.calls import Call
from hangar.proto.rows import WorkspaceRow


class EchoParams(api.Params, kw_only=True):
    word: str
    times: int = 1
    tags: list[str] | None = None


class Echoed(api.Result, kw_only=True):
    word: str
    times: int = 1
    tags: list[str] | None = None


class FailParams(api.Params, kw_only=True):
    code: int
    message: str


class Strict(api.Result, kw_only=True):
    word: int  # the echo answers a string: does not fit


#: toy methods of the fake daemon, described the way proto.calls describes the real ones
ECHO = Call("echo", EchoParams, Echoed)
FAIL = Call("fail", FailParams, api.Ack)
ECHO_MISFIT = Call("echo", EchoParams, Strict)


def test_sync_typed_calls(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    with SyncClient.connect(paths, autostart=False) as client:
        assert client.request(calls.PING, api.Empty()) == api.Ack()
        row = client.request(calls.WORKSPACE_CREATE, api.WorkspaceCreateParams(slug="ops"))
        assert_type(row, WorkspaceRow)  # the result type comes from the descriptor (mypy)
        assert row == WorkspaceRow(id="ws-1", slug="ops", name="ops", created_at=1)
        # defaults stay off the wire (the echo shows what was sent) and come back on decode
        assert client.call("echo", EchoParams(word="é")) == {"word": "é"}
        assert client.request(ECHO, EchoParams(word="é", tags=["a"])) == Echoed(
            word="é", tags=["a"]
        )


def test_sync_errors(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    with SyncClient.connect(paths, autostart=False) as client:
        with pytest.raises(RemoteError) as refused:
            client.request(FAIL, FailParams(code=jsonrpc.NOT_FOUND, message="no such task"))
        assert (refused.value.code, refused.value.message) == (jsonrpc.NOT_FOUND, "no such task")
        assert not isinstance(refused.value, ResultMismatch)

        with pytest.raises(ResultMismatch) as misfit:
            client.request(ECHO_MISFIT, EchoParams(word="x"))
        err = misfit.value
        assert (err.code, err.method) == (jsonrpc.INTERNAL_ERROR, "echo")
        assert "answer to echo does not fit" in err.message and "$.word" in err.message

        with pytest.raises(TypeError, match="echo takes EchoParams, not Empty"):
            client.request(ECHO, api.Empty())  # type: ignore[misc]
        assert client.request(calls.PING, api.Empty()) == api.Ack()  # still usable


async def test_async_typed_calls(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    async with await AsyncClient.connect(paths, autostart=False) as client:
        assert await client.request(calls.PING, api.Empty()) == api.Ack()
        row = await client.request(
            calls.WORKSPACE_CREATE, api.WorkspaceCreateParams(slug="ops", name="Ops")
        )
        assert_type(row, WorkspaceRow)
        assert (row.slug, row.name, row.is_default) == ("ops", "Ops", False)
        echoed = await client.request(ECHO, EchoParams(word="w", times=3), timeout=10)
        assert msgspec.to_builtins(echoed) == {"word": "w", "times": 3, "tags": None}

        with pytest.raises(ResultMismatch, match=r"\$\.word"):
            await client.request(ECHO_MISFIT, EchoParams(word="x"))
        with pytest.raises(RemoteError) as refused:
            await client.request(FAIL, FailParams(code=jsonrpc.CONFLICT, message="busy"))
        assert refused.value.code == jsonrpc.CONFLICT
        with pytest.raises(TypeError):
            await client.request(calls.PING, EchoParams(word="x"))  # type: ignore[misc]
        assert await client.request(calls.PING, api.Empty()) == api.Ack()
