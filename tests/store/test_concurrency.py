"""8 concurrent claimers over 1000 tasks: every task is claimed exactly once."""

from __future__ import annotations

import asyncio

from hangar.core.clock import FixedClock
from hangar.core.ids import UlidGen
from hangar.store import Store
from hangar.store.schema import agent_task_queue

CLAIMERS = 8
TASKS = 1000


async def test_each_task_is_claimed_exactly_once(migrated_url: str, clock: FixedClock) -> None:
    ids = UlidGen()
    # One Store (engine, pool, connections) per claimer, as separate daemons would have.
    stores = [
        await Store.open(migrated_url, clock=clock, ids=ids, migrate=False) for _ in range(CLAIMERS)
    ]
    try:
        s = stores[0]
        ws = await s.workspace_create("load", "Load")
        rt = await s.runtime_ensure(ws.id, "d", "claude")
        agent = await s.agent_create(ws.id, name="a", runtime_id=rt.id, max_concurrent_tasks=TASKS)
        now = clock.now_ms()
        rows = [
            {
                "id": ids.new_id(now),
                "workspace_id": ws.id,
                "runtime_id": rt.id,
                "agent_id": agent.id,
                "status": "queued",
                "priority": n % 4,
                "created_at": now + n,
            }
            for n in range(TASKS)
        ]
        async with s.engine.begin() as conn:  # seeding only: one bulk insert
            await conn.execute(agent_task_queue.insert(), rows)

        async def claimer(store: Store) -> list[str]:
            got: list[str] = []
            while (task := await store.task_claim([rt.id])) is not None:
                got.append(task.id)
            return got

        results = await asyncio.wait_for(
            asyncio.gather(*(claimer(st) for st in stores)), timeout=90
        )
        claimed = [task_id for got in results for task_id in got]
        assert len(claimed) == TASKS
        assert set(claimed) == {r["id"] for r in rows}
        assert await s.task_pending_count([rt.id]) == TASKS  # all dispatched, none queued
        assert await s.task_list(ws.id, status="queued") == []
        assert len(await s.task_active_ids([rt.id])) == TASKS
        assert sum(1 for got in results if got) > 1  # the work really was shared
    finally:
        for st in stores:
            await st.close()
