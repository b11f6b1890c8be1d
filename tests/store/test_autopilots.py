"""Autopilots in the store: CRUD with its refusals, and the fire (skip, collapse, lateness,
idempotency across two stores, the failure pause, the finalize cascade)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update

from hangar.core.clock import FixedClock
from hangar.core.ids import UlidGen
from hangar.store import Conflict, InvalidValue, NotFound, Store
from hangar.store.schema import agent_task_queue, autopilot, autopilot_run, issue
from tests.store.conftest import T0, World, make_world

MIN = 60_000
HOUR = 60 * MIN


async def make(w: World, name: str = "nightly", **kw: object) -> object:
    fields: dict[str, object] = {
        "name": name,
        "agent_ref": "bot",
        "cron": "*/10 * * * *",
        "timezone": "UTC",
        "instructions": "Update the dependencies",
        "max_concurrent_runs": 1,
        "mode": "run",
        "enabled": True,
    }
    fields |= kw
    return await w.store.autopilots.create(w.ws.id, **fields)


async def count(store: Store, table: object) -> int:
    async with store.engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


class TestCrud:
    async def test_create_plans_the_first_fire_in_its_zone(self, world: World) -> None:
        ap = await make(world, cron="0 3 * * *", timezone="Europe/Berlin")
        assert ap.next_tick_at == T0 + 2 * HOUR  # 03:00 CET is 02:00 UTC
        assert (ap.agent_name, ap.timezone, ap.mode, ap.enabled) == (
            "bot",
            "Europe/Berlin",
            "run",
            True,
        )
        assert [a.name for a in await world.store.autopilots.in_workspace(world.ws.id)] == [
            "nightly"
        ]

    @pytest.mark.parametrize(
        ("cron", "zone", "message"),
        [
            ("61 * * * *", "UTC", "out of range"),
            ("* * * *", "UTC", "expected 5 fields"),
            ("0 3 * * *", "Mars/Base", "unknown time zone"),
            ("0 0 30 2 *", "UTC", "day-of-month"),
        ],
    )
    async def test_bad_schedule_is_refused_with_the_reason(
        self, world: World, cron: str, zone: str, message: str
    ) -> None:
        with pytest.raises(InvalidValue, match=message):
            await make(world, cron=cron, timezone=zone)
        assert await count(world.store, autopilot) == 0

    async def test_agent_of_another_workspace_answers_like_a_missing_one(
        self, world: World, clock: FixedClock
    ) -> None:
        other = await make_world(world.store, clock, "other")
        with pytest.raises(NotFound) as foreign:
            await make(world, agent_ref=other.agent.id)
        with pytest.raises(NotFound) as missing:
            await make(world, agent_ref="nobody")
        assert str(foreign.value).replace(other.agent.id, "X") == str(missing.value).replace(
            "nobody", "X"
        )

    async def test_duplicate_name_conflicts_and_delete_frees_it(self, world: World) -> None:
        first = await make(world)
        with pytest.raises(Conflict, match="already exists"):
            await make(world)
        removed, kept = await world.store.autopilots.delete(world.ws.id, "nightly")
        assert (removed.id, kept) == (first.id, 0)
        assert await world.store.autopilots.get(world.ws.id, "nightly") is None
        again = await make(world)
        assert again.id != first.id

    async def test_edit_replans_from_now_and_disable_clears_the_tick(
        self, world: World, clock: FixedClock
    ) -> None:
        ap = await make(world)
        clock.advance(25 * MIN)
        edited = await world.store.autopilots.update(world.ws.id, ap.id, cron="0 * * * *")
        assert (edited.cron_expr, edited.next_tick_at) == ("0 * * * *", T0 + HOUR)
        off = await world.store.autopilots.update(world.ws.id, ap.id, enabled=False)
        assert (off.enabled, off.next_tick_at) == (False, None)
        clock.advance(HOUR)
        on = await world.store.autopilots.update(world.ws.id, ap.id, enabled=True)
        assert (on.enabled, on.next_tick_at) == (True, T0 + 2 * HOUR)  # no replay of the miss

    async def test_edit_with_a_bad_schedule_changes_nothing(self, world: World) -> None:
        ap = await make(world)
        with pytest.raises(InvalidValue):
            await world.store.autopilots.update(world.ws.id, ap.id, timezone="Nowhere/Land")
        same = await world.store.autopilots.get(world.ws.id, ap.id)
        assert same is not None and (same.timezone, same.next_tick_at) == ("UTC", ap.next_tick_at)


class TestFire:
    async def test_a_due_fire_writes_the_run_and_its_task_and_plans_the_next(
        self, world: World, clock: FixedClock
    ) -> None:
        ap = await make(world)
        clock.advance(10 * MIN + 3_000)
        assert await world.store.autopilots.due(clock.now_ms()) == [(ap.id, T0 + 10 * MIN)]
        out = await world.store.autopilots.fire(ap.id, expected_tick=T0 + 10 * MIN)
        assert out.status == "running"
        assert out.run is not None and out.task is not None
        assert (out.run.planned_at, out.run.trigger) == (T0 + 10 * MIN, "schedule")
        assert (out.task.issue_id, out.task.autopilot_run_id) == (None, out.run.id)
        assert out.autopilot is not None
        assert out.autopilot.next_tick_at == T0 + 20 * MIN
        assert out.autopilot.unfinished_runs == 1
        assert await world.store.autopilots.due(clock.now_ms()) == []

    async def test_skip_while_the_cap_of_unfinished_runs_is_reached(
        self, world: World, clock: FixedClock
    ) -> None:
        ap = await make(world, cron="* * * * *")
        clock.advance(MIN)
        assert (await world.store.autopilots.fire(ap.id, expected_tick=T0 + MIN)).status == (
            "running"
        )
        clock.advance(MIN)
        out = await world.store.autopilots.fire(ap.id, expected_tick=T0 + 2 * MIN)
        assert out.status == "skipped"
        assert out.reason == "1 run is still unfinished (max_concurrent_runs 1)"
        assert await count(world.store, autopilot_run) == 1
        assert await count(world.store, agent_task_queue) == 1
        assert out.autopilot is not None and out.autopilot.next_tick_at == T0 + 3 * MIN

    async def test_missed_fires_collapse_to_the_latest(
        self, world: World, clock: FixedClock
    ) -> None:
        ap = await make(world, cron="* * * * *")
        clock.set(T0 + 30 * MIN + 20_000)  # down for half an hour; 30 fires missed
        out = await world.store.autopilots.fire(ap.id, expected_tick=T0 + MIN)
        assert out.status == "running"
        assert out.planned_at == T0 + 30 * MIN
        assert await count(world.store, autopilot_run) == 1
        assert out.autopilot is not None and out.autopilot.next_tick_at == T0 + 31 * MIN

    async def test_a_fire_more_than_five_minutes_late_is_not_run(
        self, world: World, clock: FixedClock
    ) -> None:
        ap = await make(world, cron="0 * * * *")
        clock.set(T0 + HOUR + 5 * MIN + 1_000)
        out = await world.store.autopilots.fire(ap.id, expected_tick=T0 + HOUR)
        assert out.status == "late"
        assert out.reason is not None and "301 s late" in out.reason
        assert await count(world.store, autopilot_run) == 0
        assert out.autopilot is not None
        fresh = await world.store.autopilots.get(world.ws.id, ap.id)
        assert fresh is not None and fresh.next_tick_at == T0 + 2 * HOUR

    async def test_a_fire_is_idempotent_on_its_planned_time(
        self, world: World, clock: FixedClock
    ) -> None:
        ap = await make(world, max_concurrent_runs=5)
        clock.advance(10 * MIN)
        assert (await world.store.autopilots.fire(ap.id, expected_tick=T0 + 10 * MIN)).status == (
            "running"
        )
        # a second scheduler that read the same tick before the first moved it
        async with world.store.engine.begin() as conn:
            await conn.execute(update(autopilot).values(next_tick_at=T0 + 10 * MIN))
        out = await world.store.autopilots.fire(ap.id, expected_tick=T0 + 10 * MIN)
        assert out.status == "duplicate"
        assert await count(world.store, autopilot_run) == 1
        assert await count(world.store, agent_task_queue) == 1

    async def test_a_stale_tick_fires_nothing(self, world: World, clock: FixedClock) -> None:
        ap = await make(world)
        clock.advance(10 * MIN)
        out = await world.store.autopilots.fire(ap.id, expected_tick=T0 + 5 * MIN)
        assert out.status == "gone"
        assert await count(world.store, autopilot_run) == 0

    async def test_two_stores_on_one_database_fire_a_tick_once(
        self, world: World, clock: FixedClock, migrated_url: str
    ) -> None:
        ap = await make(world, max_concurrent_runs=5)
        clock.advance(10 * MIN)
        other = await Store.open(migrated_url, clock=clock, ids=UlidGen(), migrate=False)
        try:
            outs = await asyncio.gather(
                world.store.autopilots.fire(ap.id, expected_tick=T0 + 10 * MIN),
                other.autopilots.fire(ap.id, expected_tick=T0 + 10 * MIN),
            )
        finally:
            await other.close()
        assert sorted(o.status for o in outs) in (["gone", "running"], ["duplicate", "running"])
        assert await count(world.store, autopilot_run) == 1
        assert await count(world.store, agent_task_queue) == 1

    async def test_mode_issue_files_an_issue_assigned_to_the_agent(
        self, world: World, clock: FixedClock
    ) -> None:
        ap = await make(world, mode="issue")
        out = await world.store.autopilots.fire(ap.id, expected_tick=None, trigger="manual")
        assert out.status == "running" and out.issue is not None and out.task is not None
        assert out.issue.title.startswith("nightly: run planned for 2026-01-01 00:00 UTC")
        assert out.issue.description == "Update the dependencies"
        assert out.issue.assignee == f"agent:{world.agent.id}"
        assert (out.task.issue_id, out.task.autopilot_run_id) == (out.issue.id, out.run.id)  # type: ignore[union-attr]
        assert await count(world.store, issue) == 1

    async def test_manual_run_leaves_the_schedule_alone_and_obeys_the_cap(
        self, world: World
    ) -> None:
        ap = await make(world)
        first = await world.store.autopilots.fire(ap.id, expected_tick=None, trigger="manual")
        assert first.status == "running" and first.run is not None
        assert first.run.trigger == "manual"
        assert first.autopilot is not None and first.autopilot.next_tick_at == ap.next_tick_at
        again = await world.store.autopilots.fire(ap.id, expected_tick=None, trigger="manual")
        assert again.status == "skipped"

    async def test_finishing_the_task_closes_the_run(self, world: World) -> None:
        ap = await make(world)
        out = await world.store.autopilots.fire(ap.id, expected_tick=None, trigger="manual")
        assert out.task is not None
        await world.store.task_transition(world.ws.id, out.task.id, "dispatched")
        await world.store.task_transition(world.ws.id, out.task.id, "running")
        await world.store.task_complete(out.task.id, result=None, session_id=None)
        [run] = await world.store.autopilots.runs(world.ws.id, ap.id, limit=10)
        assert (run.status, run.task_id, run.task_status) == ("completed", out.task.id, "done")
        assert run.completed_at is not None
        fresh = await world.store.autopilots.get(world.ws.id, ap.id)
        assert fresh is not None and fresh.unfinished_runs == 0

    async def test_fifty_runs_ninety_percent_failed_pause_it(
        self, world: World, clock: FixedClock
    ) -> None:
        ap = await make(world, max_concurrent_runs=5)
        rows = [
            {
                "id": f"r{i:03}",
                "autopilot_id": ap.id,
                "started_at": T0 - i * MIN,
                "completed_at": T0 - i * MIN + 1,
                "planned_at": T0 - i * MIN,
                "status": "failed" if i < 45 else "completed",
            }
            for i in range(50)
        ]
        async with world.store.engine.begin() as conn:
            await conn.execute(autopilot_run.insert(), rows)
        out = await world.store.autopilots.fire(ap.id, expected_tick=None, trigger="manual")
        assert out.status == "paused"
        assert out.reason is not None and "45 of its 50 runs" in out.reason
        assert out.autopilot is not None
        assert (out.autopilot.enabled, out.autopilot.next_tick_at) == (False, None)
        assert out.autopilot.disabled_reason == out.reason
        assert await count(world.store, agent_task_queue) == 0
        on = await world.store.autopilots.update(world.ws.id, ap.id, enabled=True)
        assert on.disabled_reason is None and on.enabled

    async def test_forty_nine_failures_do_not_pause(self, world: World) -> None:
        ap = await make(world, max_concurrent_runs=5)
        rows = [
            {
                "id": f"r{i:03}",
                "autopilot_id": ap.id,
                "started_at": T0 - (i + 1) * MIN,
                "completed_at": T0 - (i + 1) * MIN + 1,
                "planned_at": T0 - (i + 1) * MIN,
                "status": "failed",
            }
            for i in range(49)
        ]
        async with world.store.engine.begin() as conn:
            await conn.execute(autopilot_run.insert(), rows)
        out = await world.store.autopilots.fire(ap.id, expected_tick=None, trigger="manual")
        assert out.status == "running"
