"""Lifecycle safety: the TTL sweeper, the runtime heartbeat, and boot-time recovery."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from hangar.core.ids import short_id
from hangar.daemon import process
from hangar.daemon.context import DaemonContext
from hangar.daemon.runner import read_meta

SWEEP_INTERVAL_S = 30.0
HEARTBEAT_INTERVAL_S = 15.0


async def sweep_loop(ctx: DaemonContext, interval_s: float = SWEEP_INTERVAL_S) -> None:
    while True:
        try:
            report = await ctx.store.sweep()
            if report.total:
                ctx.log.info("sweep", **report.as_dict())
                for task in report.failed:
                    ctx.announce_finished(task.workspace_id, task.id, "failed", "timeout")
                    await ctx.announce_issue(task.workspace_id, task.issue_id)
                for child in report.children:
                    ctx.announce_queued(child)
                ctx.dispatcher_wake()
        except Exception as exc:
            ctx.log.exception("sweep failed", error=str(exc))
        await asyncio.sleep(interval_s)


async def heartbeat_loop(ctx: DaemonContext, interval_s: float = HEARTBEAT_INTERVAL_S) -> None:
    while True:
        try:
            await ctx.store.runtimes_heartbeat(ctx.daemon_id)
        except Exception as exc:  # missed beats make our runtimes look gone: say so
            ctx.log.warning("heartbeat failed", error=str(exc))
        await asyncio.sleep(interval_s)


def _agent_group_still_ours(pgid: int, task_id: str) -> bool:
    """True when a live member of process group ``pgid`` carries this task's id.

    The leader died with the old daemon (PDEATHSIG) but its children may linger in the
    group; the env check guards against a reused pgid."""
    marker = f"HANGAR_TASK_ID={task_id}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) != pgid:
                continue
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                return True
        except (OSError, ValueError, IndexError):
            continue
    return False


async def recover(ctx: DaemonContext) -> None:
    """Runs at boot: requeue our dispatched tasks, fail our running ones as runtime_recovery
    (retried as children), and kill any agent group the dead daemon left behind."""
    runtimes = await ctx.store.runtimes_for_daemon(ctx.daemon_id)
    if not runtimes:
        return
    report = await ctx.store.recover_runtimes([r.id for r in runtimes])
    slugs = {w.id: w.slug for w in await ctx.store.workspace_list()}
    for task in report.failed:
        root = ctx.paths.task_root(slugs.get(task.workspace_id, "_"), short_id(task.id))
        meta = read_meta(root)
        pgid = meta.get("pgid") if meta else None
        ours = isinstance(pgid, int) and pgid != os.getpid()
        if ours and _agent_group_still_ours(pgid, task.id):  # type: ignore[arg-type]
            process.kill_group(pgid)  # type: ignore[arg-type]
            ctx.log.warning("reaped orphaned agent group", pgid=pgid, task_id=task.id)
        ctx.announce_finished(task.workspace_id, task.id, "failed", "runtime_recovery")
    for child in report.children:
        ctx.announce_queued(child)
    if report.failed or report.requeued:
        ctx.log.warning(
            "recovered tasks from a previous run",
            failed=len(report.failed),
            requeued=report.requeued,
            retried=len(report.children),
        )
