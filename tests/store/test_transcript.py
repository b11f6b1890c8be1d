"""Transcript: gap-free per-task seq, even under concurrent appends; usage rows."""

from __future__ import annotations

import asyncio

import pytest

from hangar.core.clock import FixedClock
from hangar.core.ids import UlidGen
from hangar.proto.rows import TaskUsageRow
from hangar.store import InvalidValue, NotFound, Store

from .conftest import World


async def test_seq_is_monotonic_and_gap_free(world: World) -> None:
    s, ws = world.store, world.ws.id
    task = await s.task_enqueue(ws, agent_id=world.agent.id)
    first = await s.messages_append(task.id, [("agent", "hi"), ("thinking", "hmm")])
    second = await s.messages_append(task.id, [("tool_call", "ls"), ("tool_result", "a b")])
    assert await s.messages_append(task.id, []) == []
    third = await s.messages_append(task.id, [("error", "oops")])
    assert [m.seq for m in first + second + third] == [1, 2, 3, 4, 5]
    listed = await s.messages_list(ws, task.id)
    assert listed == first + second + third
    assert [m.seq for m in await s.messages_list(ws, task.id, after_seq=2, limit=2)] == [3, 4]
    assert await s.messages_count(ws, task.id) == 5
    other = await s.task_enqueue(ws, agent_id=world.agent.id)
    assert [m.seq for m in await s.messages_append(other.id, [("agent", "x")])] == [1]


async def test_bad_appends_write_nothing(world: World) -> None:
    s, ws = world.store, world.ws.id
    task = await s.task_enqueue(ws, agent_id=world.agent.id)
    with pytest.raises(InvalidValue):
        await s.messages_append(task.id, [("agent", "ok"), ("shout", "no")])
    with pytest.raises(NotFound):
        await s.messages_append("missing", [("agent", "x")])
    assert await s.messages_count(ws, task.id) == 0


async def test_concurrent_appends_to_one_task(migrated_url: str, clock: FixedClock) -> None:
    ids = UlidGen()
    stores = [await Store.open(migrated_url, clock=clock, ids=ids, migrate=False) for _ in range(3)]
    try:
        s = stores[0]
        ws = await s.workspace_create("t", "T")
        rt = await s.runtime_ensure(ws.id, "d", "claude")
        agent = await s.agent_create(ws.id, name="a", runtime_id=rt.id)
        task = await s.task_enqueue(ws.id, agent_id=agent.id)
        batches = [[("agent", f"{n}-{i}") for i in range(3)] for n in range(30)]
        await asyncio.gather(
            *(stores[n % 3].messages_append(task.id, b) for n, b in enumerate(batches))
        )
        listed = await s.messages_list(ws.id, task.id)
        assert [m.seq for m in listed] == list(range(1, 91))
        # Each batch landed contiguously, in its own order.
        bodies = [m.body for m in listed]
        for start in range(0, 90, 3):
            n = bodies[start].split("-")[0]
            assert bodies[start : start + 3] == [f"{n}-0", f"{n}-1", f"{n}-2"]
    finally:
        for st in stores:
            await st.close()


async def test_usage_is_replaced_per_task(world: World) -> None:
    s, ws = world.store, world.ws.id
    task = await s.task_enqueue(ws, agent_id=world.agent.id)
    rows = [
        TaskUsageRow(task_id=task.id, model="opus", input_tokens=10, output_tokens=5),
        TaskUsageRow(task_id=task.id, model="haiku", cache_read_tokens=3, cost_usd=0.125),
    ]
    await s.usage_set(task.id, rows)
    assert await s.usage_list(ws, task.id) == sorted(rows, key=lambda r: r.model)
    big = TaskUsageRow(task_id=task.id, model="opus", input_tokens=5_000_000_000)
    await s.usage_set(task.id, [big])
    assert await s.usage_list(ws, task.id) == [big]
    with pytest.raises(InvalidValue):
        await s.usage_set(task.id, [big, big])
    with pytest.raises(InvalidValue):
        await s.usage_set(task.id, [TaskUsageRow(task_id="other", model="m")])
    with pytest.raises(NotFound):
        await s.usage_set("missing", [])
    assert await s.usage_list(ws, task.id) == [big]
