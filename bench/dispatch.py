"""Dispatch benchmark: N tasks through a `command` agent running `true`, enough slots.

Measures enqueue → running latency (the task row's created_at → started_at, both stamped by
the daemon) and end-to-end throughput (first enqueue → last finish). Submitters keep a fixed
number of `issue create --assign` requests in flight over the real socket.

    uv run python bench/dispatch.py --n 1000
    uv run python bench/dispatch.py --n 1000 --database-url postgresql://postgres@127.0.0.1/test
    uv run python bench/dispatch.py --n 1000 --notify 3   # with 3 channels told of every task

With ``--notify K``, K command channels (``true``) ask for ``task.done``: every finish is
tapped, classified and queued for each, so the figures against a run without say what
notifications cost the lifecycle (bursts coalesce, so few commands actually run).

Ends with one line: dispatch: n=… p50_ms=… p99_ms=… max_ms=… tasks_per_s=…
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from common import percentile, start_daemon  # bench/ is on sys.path when run


async def run(args: argparse.Namespace, home: Path, env: dict[str, str]) -> dict[str, float]:
    daemon, client = await start_daemon(home, env)
    try:
        await client.call(
            "hangar/agent_create",
            {
                "name": "bench",
                "provider": "command",
                "command": ["true"],
                "max_concurrent_tasks": min(args.slots, 64),
            },
        )
        for _ in range(args.notify):
            await client.call(
                "hangar/notify_add", {"kind": "command", "command": "true", "events": ["task.done"]}
            )
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(args.n):
            queue.put_nowait(i)
        task_ids: list[str] = []
        t0 = time.monotonic()

        async def submitter() -> None:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                res = await client.call(
                    "hangar/issue_create", {"title": f"bench {i}", "assign": "bench"}
                )
                task_ids.append(res["task"]["id"])
                if args.rate:
                    await asyncio.sleep(args.concurrency / args.rate)

        await asyncio.gather(*(submitter() for _ in range(args.concurrency)))
        submitted_s = time.monotonic() - t0
        # wait for every task to reach a terminal state: a cheap count, not the rows, so the
        # waiting costs the daemon next to nothing
        while True:
            health = await client.call("hangar/daemon_health", {})
            if health["queued_tasks"] == 0 and health["concurrent_tasks"] == 0:
                break
            await asyncio.sleep(0.1)
        cpu_s = _cpu_seconds(daemon.pid)
        rows = (await client.call("hangar/tasks_list", {"limit": args.n}))["tasks"]
        await client.close()
    finally:
        daemon.terminate()
        daemon.wait(30)
    failed = [r for r in rows if r["status"] != "done"]
    if failed:
        print(f"warning: {len(failed)} tasks did not finish done", file=sys.stderr)
    latencies = [r["started_at"] - r["created_at"] for r in rows if r["started_at"]]
    span_ms = max(r["finished_at"] for r in rows) - min(r["created_at"] for r in rows)
    return {
        "n": len(rows),
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies),
        "mean_ms": statistics.fmean(latencies),
        "tasks_per_s": len(rows) / (span_ms / 1000),
        "daemon_cpu_ms_per_task": cpu_s * 1000 / len(rows),
        "submit_per_s": len(rows) / submitted_s,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="tasks to run (default 1000)")
    ap.add_argument("--slots", type=int, default=64, help="daemon slots and agent concurrency")
    ap.add_argument("--concurrency", type=int, default=1, help="requests in flight (default 1)")
    ap.add_argument("--rate", type=float, default=0.0, help="cap submissions per second")
    ap.add_argument("--notify", type=int, default=0, help="notify channels told of each task")
    ap.add_argument("--database-url", help="postgresql://… (a scratch database is created)")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="hg-bench-", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HANGAR_", "AINB_"))}
    env.update(
        AINB_HANGAR_HOME=str(home), HANGAR_MAX_SLOTS=str(args.slots), HANGAR_LOG_LEVEL="warn"
    )
    scratch = None
    if args.database_url:
        scratch = f"hangar_bench_{uuid.uuid4().hex[:8]}"
        _pg(args.database_url, f'CREATE DATABASE "{scratch}"')
        env["HANGAR_DATABASE_URL"] = args.database_url.rsplit("/", 1)[0] + "/" + scratch
    backend = "postgresql" if scratch else "sqlite"
    try:
        stats = asyncio.run(run(args, home, env))
    finally:
        if scratch:
            _pg(args.database_url, f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        shutil.rmtree(home, ignore_errors=True)
    print(
        f"backend={backend} notify_channels={args.notify} mean_ms={stats['mean_ms']:.2f} "
        f"submit_per_s={stats['submit_per_s']:.0f} "
        f"daemon_cpu_ms_per_task={stats['daemon_cpu_ms_per_task']:.2f}",
        file=sys.stderr,
    )
    print(
        f"dispatch: n={stats['n']} p50_ms={stats['p50_ms']:.1f} p99_ms={stats['p99_ms']:.1f} "
        f"max_ms={stats['max_ms']:.1f} tasks_per_s={stats['tasks_per_s']:.1f}"
    )


def _cpu_seconds(pid: int) -> float:
    """The daemon's CPU time so far (user + system), from /proc: what a task costs it,
    whatever else the machine is doing."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pg(url: str, sql: str) -> None:
    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(go())


if __name__ == "__main__":
    main()
