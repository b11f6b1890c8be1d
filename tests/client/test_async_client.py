"""The asyncio client: multiplexed calls, events while calls are pending, clean failure."""

from __future__ import annotations

import asyncio

import pytest
from fakedaemon import TOKEN, FakeDaemon, ThreadedDaemon, write_token

from hangar.client import AsyncClient, ConnectionLost, DaemonUnreachable, RemoteError
from hangar.client.autostart import NO_AUTOSTART_ENV
from hangar.core.paths import HangarPaths
from hangar.proto import jsonrpc


async def test_connect_authenticates_and_calls(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    async with await AsyncClient.connect(paths, autostart=False) as client:
        assert await client.call("ping") == {}
        assert await client.call("echo", {"a": "é"}) == {"a": "é"}
    assert client.closed


async def test_daemon_in_the_same_event_loop(paths: HangarPaths) -> None:
    write_token(paths, TOKEN)
    fake = FakeDaemon(paths, TOKEN)
    await fake.start()
    try:
        client = await AsyncClient.connect(paths, autostart=False)
        assert await client.call("echo", [1, 2, 3]) == [1, 2, 3]
        await client.close()
    finally:
        await fake.stop()


async def test_wrong_token_is_a_clear_error(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    write_token(paths, "mdt_WRONG")
    with pytest.raises(RemoteError) as info:
        await AsyncClient.connect(paths, autostart=False)
    assert info.value.code == jsonrpc.UNAUTHORIZED
    assert str(paths.token) in info.value.message


async def test_concurrent_calls_are_matched_by_id(
    daemon: ThreadedDaemon, paths: HangarPaths
) -> None:
    finished: list[str] = []

    async with await AsyncClient.connect(paths, autostart=False) as client:

        async def sleepy(name: str, seconds: float) -> str:
            value = await client.call("sleep", {"seconds": seconds, "value": name})
            finished.append(value)
            return str(value)

        delays = {"slow": 0.3, "medium": 0.15, "fast": 0.0}
        results = await asyncio.gather(*(sleepy(n, s) for n, s in delays.items()))
        assert results == ["slow", "medium", "fast"]
        assert finished == ["fast", "medium", "slow"]  # answers came back out of order

        many = await asyncio.gather(*(client.call("echo", {"i": i}) for i in range(200)))
        assert many == [{"i": i} for i in range(200)]


async def test_events_arrive_while_a_call_is_pending(
    daemon: ThreadedDaemon, paths: HangarPaths
) -> None:
    events = [
        {"event": "task_message", "task_id": "t1", "kind": "agent", "body": f"line {i}"}
        for i in range(3)
    ]
    async with await AsyncClient.connect(paths, autostart=False) as client:
        held = asyncio.create_task(client.call("hold", {"events": events}))
        got = [await client.next_event(timeout=5) for _ in range(3)]
        assert got == events
        assert not held.done(), "the call is still waiting for its response"
        assert await client.call("release") == {}
        assert await asyncio.wait_for(held, 5) == {"emitted": 3}


async def test_events_iterator_ends_when_the_connection_does(
    daemon: ThreadedDaemon, paths: HangarPaths
) -> None:
    client = await AsyncClient.connect(paths, autostart=False)
    await client.call("emit", {"events": [{"event": "a"}, {"event": "b"}]})
    with pytest.raises(ConnectionLost):
        await client.call("drop")
    assert [e async for e in client.events()] == [{"event": "a"}, {"event": "b"}]
    assert [e async for e in client.events()] == []
    with pytest.raises(ConnectionLost):
        await client.next_event(timeout=1)
    await client.close()


async def test_next_event_timeout(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    async with await AsyncClient.connect(paths, autostart=False) as client:
        assert await client.next_event(timeout=0.05) is None
        await client.call("other_notification")
        assert await client.next_event(timeout=0.05) is None


async def test_remote_error(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    async with await AsyncClient.connect(paths, autostart=False) as client:
        with pytest.raises(RemoteError) as info:
            await client.call("fail", {"code": jsonrpc.NOT_FOUND, "message": "no such task"})
        assert (info.value.code, info.value.message, info.value.data) == (
            jsonrpc.NOT_FOUND,
            "no such task",
            None,
        )
        assert await client.call("ping") == {}


async def test_call_timeout_discards_the_late_answer(
    daemon: ThreadedDaemon, paths: HangarPaths
) -> None:
    async with await AsyncClient.connect(paths, autostart=False) as client:
        with pytest.raises(TimeoutError):
            await client.call("sleep", {"seconds": 0.2, "value": "late"}, timeout=0.02)
        await asyncio.sleep(0.3)  # the late answer arrives and is dropped
        assert await client.call("sleep", {"seconds": 0, "value": "now"}) == "now"


async def test_cancelled_call_leaves_the_client_usable(
    daemon: ThreadedDaemon, paths: HangarPaths
) -> None:
    async with await AsyncClient.connect(paths, autostart=False) as client:
        task = asyncio.create_task(client.call("sleep", {"seconds": 0.2}))
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert client._pending == {}
        assert await client.call("ping") == {}


async def test_pending_calls_fail_when_the_daemon_drops(
    daemon: ThreadedDaemon, paths: HangarPaths
) -> None:
    client = await AsyncClient.connect(paths, autostart=False)
    slow = asyncio.create_task(client.call("sleep", {"seconds": 5}))
    await asyncio.sleep(0.05)
    with pytest.raises(ConnectionLost):
        await client.call("drop")
    with pytest.raises(ConnectionLost):
        await slow
    with pytest.raises(ConnectionLost):
        await client.call("ping")
    await client.close()


async def test_close_fails_pending_calls(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    client = await AsyncClient.connect(paths, autostart=False)
    slow = asyncio.create_task(client.call("sleep", {"seconds": 5}))
    await asyncio.sleep(0.05)
    await client.close()
    await client.close()  # idempotent
    with pytest.raises(ConnectionLost):
        await slow


@pytest.mark.parametrize("method", ["garbage", "bad_json"])
async def test_daemon_breaking_the_protocol(
    daemon: ThreadedDaemon, paths: HangarPaths, method: str
) -> None:
    client = await AsyncClient.connect(paths, autostart=False)
    with pytest.raises(ConnectionLost, match=r"bad frame|invalid message"):
        await client.call(method)
    await client.close()


async def test_client_answers_daemon_requests(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    async with await AsyncClient.connect(paths, autostart=False) as client:
        assert await client.call("ask_client") == {"code": jsonrpc.METHOD_NOT_FOUND}


async def test_large_payload(daemon: ThreadedDaemon, paths: HangarPaths) -> None:
    big = {"text": "✓" * (1024 * 1024)}
    async with await AsyncClient.connect(paths, autostart=False) as client:
        assert await client.call("echo", big) == big


async def test_no_daemon_with_autostart_disabled(
    paths: HangarPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(NO_AUTOSTART_ENV, "1")
    with pytest.raises(DaemonUnreachable) as info:
        await AsyncClient.connect(paths)
    assert "no socket file" in str(info.value)
    assert "HANGAR_NO_AUTOSTART=1" in str(info.value)


async def test_no_daemon_autostart_false(paths: HangarPaths) -> None:
    with pytest.raises(DaemonUnreachable) as info:
        await AsyncClient.connect(paths, autostart=False)
    assert str(info.value).startswith(f"cannot reach the Hangar daemon at {paths.socket}: ")
