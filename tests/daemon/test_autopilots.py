"""Autopilots through the daemon's real routes and its scheduler, on a fixed clock: CRUD and
its refusals, fires on schedule, skip while in flight, the run's end, run now, the sleep."""

from __future__ import annotations

from typing import Any

import pytest

from hangar.core.clock import FixedClock
from hangar.proto import jsonrpc as rpc
from hangar.testing import InProcessDaemon
from tests.daemon.helpers import make_agent

pytestmark = pytest.mark.usefixtures("migrated")

T0 = FixedClock().now_ms()  # 2026-01-01 00:00 UTC
MIN = 60_000


async def create(hangar: InProcessDaemon, **fields: Any) -> dict[str, Any]:
    params = {
        "name": "nightly",
        "agent": "ok",
        "cron": "*/10 * * * *",
        "instructions": "Update the dependencies",
        **fields,
    }
    return await hangar.call("hangar/autopilot_create", params)


async def refused(hangar: InProcessDaemon, method: str, params: dict[str, Any]) -> rpc.RpcError:
    with pytest.raises(rpc.RpcError) as caught:
        await hangar.call(method, params)
    return caught.value


class TestRoutes:
    async def test_create_list_show_in_the_zone(self, hangar: InProcessDaemon) -> None:
        await make_agent(hangar)
        made = await create(hangar, cron="0 3 * * *", timezone="America/New_York")
        assert made["next_tick_at"] == T0 + 8 * 60 * MIN  # 03:00 EST = 08:00 UTC
        listed = await hangar.call("hangar/autopilots_list")
        assert [a["name"] for a in listed["autopilots"]] == ["nightly"]
        shown = await hangar.call("hangar/autopilot_get", {"autopilot": "nightly"})
        assert shown["upcoming"] == [T0 + (8 + 24 * d) * 60 * MIN for d in range(5)]
        assert shown["recent_runs"] == []

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"cron": "0 25 * * *"}, "cron field hour value 25 is out of range 0-23"),
            ({"cron": "every day"}, "expected 5 fields"),
            ({"timezone": "Europe/Atlantis"}, "unknown time zone 'Europe/Atlantis'"),
            ({"max_concurrent_runs": 0}, "max_concurrent_runs"),
            ({"mode": "sometimes"}, "mode"),
            ({"name": ""}, "name"),
        ],
    )
    async def test_bad_input_is_refused_with_the_reason_and_nothing_written(
        self, hangar: InProcessDaemon, fields: dict[str, Any], message: str
    ) -> None:
        await make_agent(hangar)
        err = await refused(
            hangar,
            "hangar/autopilot_create",
            {
                "name": "nightly",
                "agent": "ok",
                "cron": "*/10 * * * *",
                "instructions": "x",
                **fields,
            },
        )
        assert err.code == rpc.INVALID_PARAMS
        assert message in err.message
        assert (await hangar.call("hangar/autopilots_list"))["autopilots"] == []

    async def test_agent_of_another_workspace_and_duplicates(self, hangar: InProcessDaemon) -> None:
        await make_agent(hangar)
        await hangar.call("workspace/create", {"slug": "other"})
        foreign = await hangar.call(
            "hangar/agent_create",
            {"workspace_id": "other", "name": "theirs", "provider": "command", "command": ["true"]},
        )
        err = await refused(
            hangar,
            "hangar/autopilot_create",
            {"name": "n", "agent": foreign["id"], "cron": "* * * * *", "instructions": "x"},
        )
        assert (err.code, err.message) == (rpc.NOT_FOUND, f"agent not found: {foreign['id']}")
        await create(hangar)
        dup = await refused(
            hangar,
            "hangar/autopilot_create",
            {"name": "nightly", "agent": "ok", "cron": "* * * * *", "instructions": "x"},
        )
        assert dup.code == rpc.CONFLICT and "already exists" in dup.message
        other = await refused(
            hangar, "hangar/autopilot_get", {"workspace_id": "other", "autopilot": "nightly"}
        )
        assert (other.code, other.message) == (rpc.NOT_FOUND, "autopilot not found: nightly")

    async def test_delete_keeps_the_history(self, hangar: InProcessDaemon) -> None:
        await make_agent(hangar)
        await create(hangar)
        await hangar.call("hangar/autopilot_run", {"autopilot": "nightly"})
        gone = await hangar.call("hangar/autopilot_delete", {"autopilot": "nightly"})
        assert (gone["name"], gone["runs_kept"]) == ("nightly", 1)
        err = await refused(hangar, "hangar/autopilot_run", {"autopilot": "nightly"})
        assert err.code == rpc.NOT_FOUND

    async def test_preview(self, hangar: InProcessDaemon) -> None:
        ok = await hangar.call("hangar/cron_preview", {"cron": "0 * * * *", "count": 2})
        assert ok == {"upcoming": [T0 + 60 * MIN, T0 + 120 * MIN], "error": None}
        bad = await hangar.call("hangar/cron_preview", {"cron": "0 * * *"})
        assert bad["upcoming"] == [] and "expected 5 fields" in bad["error"]


class TestScheduler:
    async def test_fires_on_schedule_and_the_run_ends_with_its_task(
        self, hangar: InProcessDaemon, clock: FixedClock
    ) -> None:
        await make_agent(hangar, command=["printenv", "HANGAR_PROMPT"])
        await create(hangar)
        events = await hangar.subscribe()
        assert await hangar.scheduler.tick() == []
        clock.advance(10 * MIN)
        [out] = await hangar.scheduler.tick()
        assert out.status == "running" and out.task is not None
        assert "AutopilotRunChanged" in events.names()
        await hangar.dispatch()
        runs = await hangar.call("hangar/autopilot_runs", {"autopilot": "nightly"})
        [run] = runs["runs"]
        assert (run["status"], run["task_status"], run["planned_at"]) == (
            "completed",
            "done",
            T0 + 10 * MIN,
        )
        ended = [e for e in events.drain() if getattr(e, "status", None) == "completed"]
        assert ended and ended[-1].run_id == run["id"]
        # mode run: the prompt is the autopilot's instructions
        messages = await hangar.call("hangar/task_messages", {"task_id": out.task.id})
        assert any("Update the dependencies" in m["body"] for m in messages["messages"])

    async def test_skips_while_the_previous_run_is_unfinished(
        self, hangar: InProcessDaemon, clock: FixedClock
    ) -> None:
        await make_agent(hangar)
        await create(hangar, cron="* * * * *")
        events = await hangar.subscribe()
        clock.advance(MIN)
        assert [o.status for o in await hangar.scheduler.tick()] == ["running"]
        clock.advance(MIN)
        [skipped] = await hangar.scheduler.tick()
        assert skipped.status == "skipped"
        run_events = [e for e in events.drain() if type(e).__name__ == "AutopilotRunChanged"]
        assert [e.status for e in run_events] == ["running", "skipped"]
        assert run_events[-1].reason == "1 run is still unfinished (max_concurrent_runs 1)"
        runs = await hangar.call("hangar/autopilot_runs", {"autopilot": "nightly"})
        assert len(runs["runs"]) == 1

    async def test_run_now_goes_through_the_same_rule(self, hangar: InProcessDaemon) -> None:
        await make_agent(hangar)
        made = await create(hangar)
        first = await hangar.call("hangar/autopilot_run", {"autopilot": "nightly"})
        assert first["status"] == "running" and first["task_id"]
        assert first["run"]["trigger"] == "manual"
        second = await hangar.call("hangar/autopilot_run", {"autopilot": "nightly"})
        assert second == {
            "status": "skipped",
            "run": None,
            "task_id": None,
            "issue_id": None,
            "reason": "1 run is still unfinished (max_concurrent_runs 1)",
        }
        shown = await hangar.call("hangar/autopilot_get", {"autopilot": "nightly"})
        assert shown["autopilot"]["next_tick_at"] == made["next_tick_at"]

    async def test_mode_issue_files_an_issue(self, hangar: InProcessDaemon) -> None:
        await make_agent(hangar)
        await create(hangar, mode="issue")
        out = await hangar.call("hangar/autopilot_run", {"autopilot": "nightly"})
        issue = await hangar.call("hangar/issue_get", {"issue_id": out["issue_id"]})
        assert issue["issue"]["description"] == "Update the dependencies"
        assert issue["issue"]["state"] == "open"

    async def test_sleeps_until_the_earliest_fire_and_wakes_on_create(
        self, hangar: InProcessDaemon, clock: FixedClock
    ) -> None:
        await make_agent(hangar)
        assert await hangar.scheduler.delay_s() == hangar.scheduler.repoll_s
        await create(hangar, name="soon", cron="*/5 * * * * *")
        await create(hangar, name="later", cron="0 * * * *")
        assert 4.9 < await hangar.scheduler.delay_s() < 5.1
        await hangar.call("hangar/autopilot_update", {"autopilot": "soon", "enabled": False})
        assert await hangar.scheduler.delay_s() == hangar.scheduler.repoll_s  # an hour away
        assert hangar.scheduler._wake.is_set()

    async def test_disable_then_enable_does_not_replay(
        self, hangar: InProcessDaemon, clock: FixedClock
    ) -> None:
        await make_agent(hangar)
        await create(hangar)
        await hangar.call("hangar/autopilot_update", {"autopilot": "nightly", "enabled": False})
        clock.advance(60 * MIN)
        assert await hangar.scheduler.tick() == []
        on = await hangar.call("hangar/autopilot_update", {"autopilot": "nightly", "enabled": True})
        assert on["next_tick_at"] == T0 + 70 * MIN
        assert await hangar.scheduler.tick() == []
