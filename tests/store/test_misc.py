"""Socket token digest, health, and the autopilot run cascade of finalize."""

from __future__ import annotations

from sqlalchemy import select

from hangar.core.failures import FailureReason
from hangar.store import Store, tasks
from hangar.store.context import StoreContext
from hangar.store.migrate import head_revision
from hangar.store.schema import autopilot, autopilot_run

from .conftest import World, advance


async def test_socket_token_digest_is_a_single_row(store: Store) -> None:
    assert await store.socket_token_digest() is None
    await store.socket_token_set("a" * 64)
    assert await store.socket_token_digest() == "a" * 64
    await store.socket_token_set("b" * 64)  # rotation replaces it
    assert await store.socket_token_digest() == "b" * 64


async def test_health_of_a_migrated_store(store: Store) -> None:
    health = await store.health()
    # the head itself is pinned in test_migrations.py
    assert health == {"dialect": store.dialect, "migrated": True, "revision": head_revision()}
    assert store.dialect in ("sqlite", "postgresql")


async def test_finalizing_an_autopilot_task_stamps_its_run(world: World) -> None:
    s, ws, now = world.store, world.ws.id, world.clock.now_ms()
    ctx = StoreContext(clock=world.clock, ids=s._ctx.ids)
    async with s.engine.begin() as conn:  # the scheduler's tables have no facade yet
        await conn.execute(
            autopilot.insert().values(
                id="ap",
                workspace_id=ws,
                agent_id=world.agent.id,
                name="nightly",
                cron_expr="0 3 * * *",
                created_at=now,
            )
        )
        runs = [{"id": f"run{n}", "autopilot_id": "ap", "started_at": now} for n in range(3)]
        await conn.execute(autopilot_run.insert(), runs)
        made = [
            await tasks.enqueue(conn, ctx, ws, agent_id=world.agent.id, autopilot_run_id=f"run{n}")
            for n in range(3)
        ]
    for task in made:
        await advance(s, ws, task.id, "running")
        world.clock.advance(5)
    await s.task_complete(made[0].id, result={}, session_id=None)
    await s.task_cancel(ws, made[1].id)
    change = await s.task_fail(made[2].id, reason=FailureReason.RUNTIME_OFFLINE)
    child = change.child
    assert child is not None and child.autopilot_run_id == "run2"

    async with s.engine.connect() as conn:
        result = await conn.execute(select(autopilot_run).order_by(autopilot_run.c.id))
        got = {r.id: (r.status, r.completed_at) for r in result}
    end = world.clock.now_ms()
    # run2 stays open: its task is being retried.
    assert got == {
        "run0": ("completed", end),
        "run1": ("cancelled", end),
        "run2": ("running", None),
    }
    await advance(s, ws, child.id, "running")
    await s.task_fail(child.id, reason=FailureReason.AGENT_ERROR)
    async with s.engine.connect() as conn:
        status = await conn.scalar(
            select(autopilot_run.c.status).where(autopilot_run.c.id == "run2")
        )
    assert status == "failed"
