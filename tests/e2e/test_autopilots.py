"""Tripwires over the real socket and the real CLI: an autopilot with a seconds schedule fires
and its task runs; while its run still runs, the next fires are skipped; bad input is refused
with the reason and the daemon serves on."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.harness import Hangar, wait_until


def log_events(hangar: Hangar, event: str) -> list[dict[str, object]]:
    lines = []
    for path in sorted(Path(hangar.home, "logs").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if row.get("msg") == event:
                lines.append(row)
    return lines


def test_a_seconds_schedule_fires_and_its_task_runs(hangar: Hangar) -> None:
    hangar.json("agent", "create", "--name", "bot", "--provider", "command", "--command", "true")
    hangar.json(
        "autopilot", "create", "--name", "tick", "--agent", "bot", "--cron", "* * * * * *",
        "--instructions", "say hi", "--max-concurrent-runs", "5",
    )  # fmt: skip

    def finished_runs() -> list[dict[str, object]]:
        runs = hangar.json("autopilot", "runs", "tick")
        return [r for r in runs if r["status"] == "completed" and r["task_status"] == "done"]

    wait_until(lambda: len(finished_runs()) >= 2, timeout=30)
    hangar.run("autopilot", "disable", "tick")
    run = finished_runs()[0]
    assert run["trigger"] == "schedule"
    assert hangar.task(str(run["task_id"]))["status"] == "done"


def test_fires_are_skipped_while_the_run_still_runs(hangar: Hangar) -> None:
    hangar.json(
        "agent", "create", "--name", "slow", "--provider", "command", "--command", "sleep 30"
    )
    hangar.json(
        "autopilot", "create", "--name", "busy", "--agent", "slow", "--cron", "* * * * * *",
        "--instructions", "take your time",
    )  # fmt: skip
    wait_until(lambda: len(log_events(hangar, "autopilot.tick_skipped")) >= 2, timeout=30)
    hangar.run("autopilot", "disable", "busy")
    runs = hangar.json("autopilot", "runs", "busy")
    assert len(runs) == 1 and runs[0]["status"] == "running"
    skipped = hangar.run("autopilot", "run", "busy", ok=False)
    assert skipped.code == 1
    assert "skipped: 1 run is still unfinished (max_concurrent_runs 1)" in skipped.err
    hangar.run("task", "cancel", str(runs[0]["task_id"]))
    wait_until(lambda: hangar.json("autopilot", "runs", "busy")[0]["status"] == "cancelled")


def test_bad_input_is_refused_and_the_daemon_serves_on(hangar: Hangar) -> None:
    hangar.json("agent", "create", "--name", "bot", "--provider", "command", "--command", "true")
    base = ("autopilot", "create", "--name", "x", "--agent", "bot", "--instructions", "i")
    cases = [
        (("--cron", "0 3 * *"), "expected 5 fields"),
        (("--cron", "0 3 * * * * *"), "expected 5 fields"),
        (("--cron", "99 3 * * *"), "cron field min value 99 is out of range 0-59"),
        (("--cron", "0 3 * * *", "--tz", "Nowhere/City"), "unknown time zone 'Nowhere/City'"),
    ]
    for extra, message in cases:
        res = hangar.run(*base, *extra, ok=False)
        assert res.code != 0 and message in res.err, (extra, res.err)
    missing = hangar.run(*base[:4], "--agent", "ghost", "--cron", "* * * * *", "--instructions",
                         "i", ok=False)  # fmt: skip
    assert "agent not found: ghost" in missing.err
    hangar.json("autopilot", "create", *base[2:], "--cron", "0 3 * * *")
    dup = hangar.run(*base, "--cron", "0 3 * * *", ok=False)
    assert "already exists" in dup.err
    assert [a["name"] for a in hangar.json("autopilot", "list")] == ["x"]
    unknown = hangar.run("autopilot", "show", "nope", ok=False)
    assert unknown.code == 4 and "autopilot not found: nope" in unknown.err
