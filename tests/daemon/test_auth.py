"""Tokens and scopes through the daemon's real socket, in process: hello with every kind of
token, every method against every scope through the server's one check, a token revoked or
expired under an open connection, ``last_used`` written sparingly, and what token calls
refuse."""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from hangar.core import tokens
from hangar.core.clock import FixedClock
from hangar.proto import jsonrpc, methods, scopes
from hangar.proto.framing import encode_frame, read_frame
from hangar.testing import InProcessDaemon, daemon_in_process
from tests.daemon.helpers import seed_home

T0 = 1_767_225_600_000
#: params no method takes: an admitted call is refused at its params (-32602), so no
#: handler runs, and a refused one never gets that far (-32012)
PROBE = {"__scope_probe__": 1}


class Raw:
    """A client over the daemon's socket that sends any frame and matches answers by id."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.ids = itertools.count(1)
        self.stray: list[dict[str, Any]] = []  # notifications and id-less errors

    @classmethod
    async def open(cls, d: InProcessDaemon) -> Raw:
        return cls(*await asyncio.open_unix_connection(str(d.daemon.paths.socket)))

    async def send(self, method: str, params: Any) -> int:
        n = next(self.ids)
        body = {"jsonrpc": "2.0", "id": n, "method": method, "params": params}
        self.writer.write(encode_frame(json.dumps(body).encode()))
        await self.writer.drain()
        return n

    async def read(self, timeout: float = 10.0) -> dict[str, Any] | None:
        body = await asyncio.wait_for(read_frame(self.reader), timeout)
        return None if body is None else json.loads(body)

    async def answers(self, ids: set[int]) -> dict[int, dict[str, Any]]:
        got: dict[int, dict[str, Any]] = {}
        while ids - set(got):
            msg = await self.read()
            assert msg is not None, f"closed before answering {sorted(ids - set(got))}"
            if msg.get("id") in ids:
                got[msg["id"]] = msg
            else:
                self.stray.append(msg)
        return got

    async def call(self, method: str, params: Any = None) -> dict[str, Any]:
        n = await self.send(method, {} if params is None else params)
        return (await self.answers({n}))[n]

    async def hello(self, token: Any) -> dict[str, Any]:
        return await self.call(methods.AUTH_HELLO, {"token": token})

    async def closed_by_daemon(self, timeout: float = 10.0) -> bool:
        async def drain() -> None:
            while (msg := await read_frame(self.reader)) is not None:
                self.stray.append(json.loads(msg))

        try:
            await asyncio.wait_for(drain(), timeout)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        return True

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
def short_home(migrated_db: Path) -> Iterator[Path]:
    """A home whose socket path fits in sun_path, holding the migrated database."""
    root = Path(tempfile.mkdtemp(prefix="hga", dir="/tmp"))
    try:
        yield seed_home(root / "h", migrated_db)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def served(short_home: Path) -> AsyncIterator[InProcessDaemon]:
    async with daemon_in_process(short_home, clock=FixedClock(T0), serve=True) as d:
        yield d


async def make_token(d: InProcessDaemon, scope: str, **extra: Any) -> tuple[str, str]:
    """(id, plaintext) of a new token, made through the daemon's own route."""
    made = await d.call(methods.TOKEN_CREATE, {"name": f"{scope} token", "scope": scope, **extra})
    return made["token"]["id"], made["plaintext"]


async def connect(d: InProcessDaemon, token: str) -> Raw:
    raw = await Raw.open(d)
    answer = await raw.hello(token)
    assert "result" in answer, answer
    return raw


def socket_token(d: InProcessDaemon) -> str:
    return d.daemon.paths.token.read_text().strip()


# -- every method, every scope ------------------------------------------------------------


async def test_every_method_is_admitted_or_refused_by_the_scope_table(
    served: InProcessDaemon,
) -> None:
    d = served
    holders = {"socket token": ("admin", socket_token(d))}
    for scope in scopes.SCOPES:
        holders[f"{scope} token"] = (scope, (await make_token(d, scope))[1])
    every = d.routes.methods()  # what the daemon serves (test_scopes: every described one)
    assert len(every) >= 50
    assert sorted(set(every) - set(scopes.REQUIRED)) == []

    table: dict[tuple[str, str], str] = {}
    for holder, (scope, plaintext) in holders.items():
        raw = await connect(d, plaintext)
        sent = {await raw.send(m, PROBE): m for m in every}  # all at once: one round trip
        for n, answer in (await raw.answers(set(sent))).items():
            method, error = sent[n], answer["error"]
            if error["code"] == jsonrpc.FORBIDDEN:
                table[holder, method] = "refused"
                needs = scopes.REQUIRED[method]
                assert error["message"] == f"this token's scope is {scope}; {method} needs {needs}"
                assert error["data"] == {"kind": "forbidden", "scope": scope, "needs": needs}
            else:
                assert error["code"] == jsonrpc.INVALID_PARAMS, (holder, method, error)
                assert "__scope_probe__" in error["message"]
                table[holder, method] = "allowed"
        assert (await raw.call(methods.PING))["result"] == {}  # refusals left it open
        raw.close()

    expected = {
        (holder, method): "allowed" if scopes.allows(scope, scopes.REQUIRED[method]) else "refused"
        for holder, (scope, _) in holders.items()
        for method in every
    }
    assert table == expected
    # spot checks that the table says what the product promises
    assert table["read token", methods.ISSUES_LIST] == "allowed"
    assert table["read token", methods.WORKSPACE_SUBSCRIBE] == "allowed"
    assert table["read token", methods.ISSUE_CREATE] == "refused"
    assert table["write token", methods.ISSUE_CREATE] == "allowed"
    assert table["write token", methods.TOKEN_CREATE] == "refused"
    assert table["admin token", methods.TOKEN_REVOKE] == "allowed"
    assert all(table["socket token", m] == "allowed" for m in every)


async def test_a_read_token_sees_but_cannot_file_work(served: InProcessDaemon) -> None:
    d = served
    _, plaintext = await make_token(d, "read")
    raw = await connect(d, plaintext)
    listed = await raw.call(methods.ISSUES_LIST)
    assert listed["result"]["issues"] == []
    refused = await raw.call(methods.ISSUE_CREATE, {"title": "nope"})
    assert refused["error"]["code"] == jsonrpc.FORBIDDEN
    assert refused["error"]["message"] == (
        "this token's scope is read; hangar/issue_create needs write"
    )
    assert (await d.call(methods.ISSUES_LIST))["issues"] == []  # nothing was written
    subscribed = await raw.call(methods.WORKSPACE_SUBSCRIBE)
    assert subscribed["result"]["workspace"]["slug"] == "default"
    raw.close()


# -- hello ---------------------------------------------------------------------------------


async def test_hello_answers_the_scope_the_connection_carries(served: InProcessDaemon) -> None:
    d = served
    raw = await Raw.open(d)
    assert (await raw.hello(socket_token(d)))["result"] == {"scope": "admin", "token_id": None}
    raw.close()
    token_id, plaintext = await make_token(d, "write")
    raw = await Raw.open(d)
    assert (await raw.hello(plaintext))["result"] == {"scope": "write", "token_id": token_id}
    raw.close()


@pytest.mark.parametrize(
    "case",
    ["revoked", "expired", "malformed", "unknown", "garbage", "not a string", "huge", "empty"],
)
async def test_hello_refuses_a_token_that_is_no_good(served: InProcessDaemon, case: str) -> None:
    d = served
    token_id, plaintext = await make_token(d, "admin", expires_in_ms=60_000)
    offered: Any = {
        "revoked": plaintext,
        "expired": plaintext,
        "malformed": tokens.PAT_PREFIX + "a" * 52,  # lower case is not base32
        "unknown": tokens.mint_token(tokens.PAT_PREFIX),
        "garbage": "\x00\u2603 not a token",
        "not a string": 12345,
        "huge": tokens.PAT_PREFIX + "A" * 100_000,
        "empty": "",
    }[case]
    if case == "revoked":
        await d.call(methods.TOKEN_REVOKE, {"token_id": token_id})
    if case == "expired":
        d.clock.advance(60_000)  # type: ignore[attr-defined]
    raw = await Raw.open(d)
    answer = await raw.hello(offered)
    assert answer["error"]["code"] == jsonrpc.UNAUTHORIZED
    why = {"revoked": "token revoked", "expired": "token expired"}
    assert answer["error"]["message"] == why.get(case, answer["error"]["message"])
    assert plaintext not in json.dumps(answer)
    assert await raw.closed_by_daemon()
    raw.close()
    # the daemon serves on, for a good token
    good = await connect(d, socket_token(d))
    assert (await good.call(methods.PING))["result"] == {}
    good.close()


# -- an open connection ----------------------------------------------------------------------


async def test_a_token_revoked_here_closes_its_open_connections(served: InProcessDaemon) -> None:
    d = served
    token_id, plaintext = await make_token(d, "read")
    _, other = await make_token(d, "read")
    raw, bystander = await connect(d, plaintext), await connect(d, other)
    assert (await raw.call(methods.WORKSPACE_SUBSCRIBE))["result"]
    revoked = await d.call(methods.TOKEN_REVOKE, {"token_id": token_id})
    assert revoked["revoked_at"] == T0
    assert await raw.closed_by_daemon()  # at once, even though it was only listening
    assert {"code": jsonrpc.UNAUTHORIZED, "message": "token revoked"} in [
        m.get("error") for m in raw.stray
    ]
    raw.close()
    assert (await bystander.call(methods.PING))["result"] == {}  # another token is untouched
    bystander.close()
    again = await Raw.open(d)
    assert (await again.hello(plaintext))["error"]["message"] == "token revoked"
    again.close()


async def test_a_token_revoked_elsewhere_is_refused_at_the_next_call(
    served: InProcessDaemon,
) -> None:
    """Another daemon on the same database revokes it: this one learns at a later call, from
    the row it re-reads at most every ``recheck_s``."""
    d = served
    d.daemon.gate.recheck_s = 0.05
    token_id, plaintext = await make_token(d, "write")
    raw = await connect(d, plaintext)
    assert (await raw.call(methods.PING))["result"] == {}
    await d.store.tokens.revoke(token_id)  # the store only: no word to this daemon's gate

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while "result" in (answer := await raw.call(methods.PING)):
        assert loop.time() < deadline, "the revoked token is still admitted"
        await asyncio.sleep(0.01)
    assert answer["error"] == {"code": jsonrpc.UNAUTHORIZED, "message": "token revoked"}
    assert await raw.closed_by_daemon()
    raw.close()


async def test_a_token_that_expires_under_an_open_connection_is_refused(
    served: InProcessDaemon,
) -> None:
    d = served
    _, plaintext = await make_token(d, "read", expires_in_ms=1000)
    raw = await connect(d, plaintext)
    assert (await raw.call(methods.PING))["result"] == {}
    d.clock.advance(1000)  # type: ignore[attr-defined]
    answer = await raw.call(methods.PING)
    assert answer["error"] == {"code": jsonrpc.UNAUTHORIZED, "message": "token expired"}
    assert await raw.closed_by_daemon()
    raw.close()


async def test_last_used_is_written_at_hello_then_at_most_once_a_minute(
    served: InProcessDaemon,
) -> None:
    d = served
    clock: FixedClock = d.clock  # type: ignore[assignment]
    token_id, plaintext = await make_token(d, "read")

    async def last_used() -> int | None:
        row = await d.store.tokens.get(token_id)
        assert row is not None
        return row.last_used

    assert await last_used() is None
    clock.advance(1000)
    raw = await connect(d, plaintext)
    assert await last_used() == T0 + 1000
    clock.advance(30_000)
    for _ in range(5):
        assert (await raw.call(methods.PING))["result"] == {}
    assert await last_used() == T0 + 1000  # not on every call
    clock.advance(30_000)
    assert (await raw.call(methods.PING))["result"] == {}
    assert await last_used() == T0 + 61_000
    raw.close()
    listed = await d.call(methods.TOKENS_LIST)
    assert listed["tokens"][0]["last_used"] == T0 + 61_000


# -- the token calls themselves -----------------------------------------------------------


async def test_create_list_revoke_never_show_the_plaintext_again(served: InProcessDaemon) -> None:
    d = served
    made = await d.call(
        methods.TOKEN_CREATE, {"name": "  ci  ", "scope": "write", "expires_in_ms": 86_400_000}
    )
    plaintext = made["plaintext"]
    assert tokens.looks_like_token(plaintext, tokens.PAT_PREFIX)
    row = made["token"]
    assert (row["name"], row["scope"], row["created_at"], row["expires_at"]) == (
        "ci",
        "write",
        T0,
        T0 + 86_400_000,
    )
    default = await d.call(methods.TOKEN_CREATE, {"name": "least power"})
    assert default["token"]["scope"] == "read"  # least power unless asked
    assert default["token"]["expires_at"] is None
    listed = await d.call(methods.TOKENS_LIST)
    assert [t["name"] for t in listed["tokens"]] == ["least power", "ci"]
    text = json.dumps(listed)
    assert plaintext not in text and tokens.digest(plaintext) not in text
    gone = await d.call(methods.TOKEN_REVOKE, {"token_id": row["id"]})
    assert gone["revoked_at"] == T0
    assert plaintext not in json.dumps(gone)


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"name": "x", "scope": "root"}, "scope"),
        ({"name": "x", "scope": ""}, "scope"),
        ({"name": "x", "expires_at": T0 - 1}, "not in the future"),
        ({"name": "x", "expires_at": T0}, "not in the future"),
        ({"name": "x", "expires_in_ms": 0}, "expires_in_ms"),
        ({"name": "x", "expires_in_ms": -5}, "expires_in_ms"),
        ({"name": "x", "expires_in_ms": 1000, "expires_at": T0 + 5000}, "not both"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "must not be empty"),
        ({"name": "two\nlines"}, "control"),
        ({"name": "x" * 101}, "name"),
        ({}, "name"),
    ],
)
async def test_create_refuses_bad_input_and_writes_nothing(
    served: InProcessDaemon, params: dict[str, Any], needle: str
) -> None:
    d = served
    with pytest.raises(jsonrpc.RpcError) as caught:
        await d.call(methods.TOKEN_CREATE, params)
    assert caught.value.code == jsonrpc.INVALID_PARAMS
    assert needle in caught.value.message
    assert (await d.call(methods.TOKENS_LIST))["tokens"] == []


async def test_revoking_an_unknown_token_is_not_found(served: InProcessDaemon) -> None:
    with pytest.raises(jsonrpc.RpcError) as caught:
        await served.call(methods.TOKEN_REVOKE, {"token_id": "01NOSUCHTOKEN"})
    assert caught.value.code == jsonrpc.NOT_FOUND
    assert caught.value.message == "token not found: 01NOSUCHTOKEN"
