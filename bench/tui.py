"""TUI benchmark: first paint of the Issues screen, and how soon an event shows on it.

A store is seeded with N issues, each with a queued task for an agent whose runtime belongs
to no running daemon (so nothing claims them), then a daemon serves it. Each round starts a
fresh process running the real app headless (`bench/tui_probe.py`) and measures:

- first paint: process start (the parent's clock, before the spawn) → the Issues table
  holds the daemon's rows (the probe's clock; CLOCK_MONOTONIC is shared by processes);
- event: a client marks a shown issue done (the daemon publishes issue_updated, as when
  its task finishes) → its row on screen says "done".

    uv run python bench/tui.py --n 10000 --rounds 10

Ends with one line: tui: n=… first_paint_p50_ms=… p99_ms=… event_p50_ms=… p99_ms=…
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import percentile, start_daemon  # bench/ is on sys.path when run
from hangar.core.clock import SystemClock
from hangar.core.ids import UlidGen
from hangar.core.paths import HangarPaths
from hangar.store import Store

PROBE = Path(__file__).with_name("tui_probe.py")


async def seed(home: Path, n: int) -> None:
    store = await Store.open(HangarPaths(home).sqlite_url(), clock=SystemClock(), ids=UlidGen())
    try:
        ws = await store.workspace_default()
        runtime = await store.runtime_ensure(ws.id, "bench-elsewhere", "command")
        await store.runtimes_mark_offline("bench-elsewhere")
        agent = await store.agent_create(ws.id, name="parked", runtime_id=runtime.id)
        owner = await store.workspace_owner_ref(ws.id)
        for i in range(n):
            await store.issue_create(
                ws.id, title=f"seeded issue {i}", creator=owner, assign_agent_id=agent.id
            )
    finally:
        await store.close()


async def round_trip(env: dict[str, str], client: object) -> tuple[float, float]:
    started = time.monotonic()
    probe = await asyncio.create_subprocess_exec(
        sys.executable, str(PROBE), env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert probe.stdout is not None and probe.stdin is not None
    painted = json.loads(await probe.stdout.readline())
    first_paint_ms = (painted["at"] - started) * 1000
    # the newest issue is on the first screen: mark it done and wait for the probe to see it
    sent = time.monotonic()
    await client.call(  # type: ignore[attr-defined]
        "hangar/issue_update", {"issue_id": painted["top_issue"], "state": "done"}
    )
    seen = json.loads(await probe.stdout.readline())
    event_ms = (seen["at"] - sent) * 1000
    await client.call(  # type: ignore[attr-defined]
        "hangar/issue_update", {"issue_id": painted["top_issue"], "state": "open"}
    )
    probe.stdin.close()
    await probe.wait()
    return first_paint_ms, event_ms


async def run(args: argparse.Namespace, home: Path, env: dict[str, str]) -> None:
    t = time.monotonic()
    await seed(home, args.n)
    print(f"seeded {args.n} issues and tasks in {time.monotonic() - t:.1f}s", file=sys.stderr)
    daemon, client = await start_daemon(home, env)
    try:
        paints, events = [], []
        for _ in range(args.rounds):
            paint, event = await round_trip(env, client)
            paints.append(paint)
            events.append(event)
        print(
            f"tui: n={args.n} rounds={args.rounds}"
            f" first_paint_p50_ms={percentile(paints, 0.5):.0f}"
            f" p99_ms={percentile(paints, 0.99):.0f}"
            f" event_p50_ms={percentile(events, 0.5):.1f}"
            f" p99_ms={percentile(events, 0.99):.1f}"
        )
    finally:
        await client.close()
        daemon.terminate()
        daemon.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="hb-", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HANGAR_", "AINB_"))}
    env["AINB_HANGAR_HOME"] = str(home)
    try:
        asyncio.run(run(args, home, env))
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
