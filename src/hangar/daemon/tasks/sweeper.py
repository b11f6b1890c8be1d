"""Lifecycle safety: the TTL sweep loop, the runtime heartbeat, and boot-time recovery.

The transitions themselves are the lifecycle's (``sweep``, ``recover``); this module
decides when they run and reaps agent groups a dead daemon left behind.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from hangar.adapters import process, procfs
from hangar.core.ids import short_id
from hangar.core.paths import HangarPaths
from hangar.daemon.lifecycle import Lifecycle
from hangar.daemon.tasks.meta import read_meta
from hangar.store import Store

__all__ = ["HEARTBEAT_INTERVAL_S", "SWEEP_INTERVAL_S", "heartbeat_loop", "recover", "sweep_loop"]

SWEEP_INTERVAL_S = 30.0
HEARTBEAT_INTERVAL_S = 15.0


async def sweep_once(lifecycle: Lifecycle, log: Any) -> None:
    try:
        report = await lifecycle.sweep()
        if report.total:
            log.info("sweep", **report.as_dict())
    except Exception as exc:
        log.exception("sweep failed", error=str(exc))


async def sweep_loop(lifecycle: Lifecycle, log: Any, interval_s: float = SWEEP_INTERVAL_S) -> None:
    while True:
        await sweep_once(lifecycle, log)
        await asyncio.sleep(interval_s)


async def heartbeat_loop(
    store: Store, daemon_id: str, log: Any, interval_s: float = HEARTBEAT_INTERVAL_S
) -> None:
    while True:
        try:
            await store.runtimes_heartbeat(daemon_id)
        except Exception as exc:  # missed beats make our runtimes look gone: say so
            log.warning("heartbeat failed", error=str(exc))
        await asyncio.sleep(interval_s)


async def recover(
    lifecycle: Lifecycle, store: Store, paths: HangarPaths, daemon_id: str, log: Any
) -> None:
    """Runs at boot: cancel what was asked to be cancelled, requeue our dispatched tasks,
    fail our running ones as runtime_recovery (retried as children), and kill any agent
    group the dead daemon left behind."""
    runtimes = await store.runtimes_for_daemon(daemon_id)
    if not runtimes:
        return
    report = await lifecycle.recover([r.id for r in runtimes])
    ended = [*report.failed, *report.cancelled]
    if ended:
        slugs = {w.id: w.slug for w in await store.workspace_list()}
        for task in ended:
            root = paths.task_root(slugs.get(task.workspace_id, "_"), short_id(task.id))
            meta = read_meta(root)
            pgid = meta.get("pgid") if meta else None
            if not isinstance(pgid, int) or pgid == os.getpid():
                continue
            # the leader died with the old daemon (death signal) but its children may linger
            # in the group; the env marker guards against a reused pgid
            if procfs.group_has_env(pgid, "HANGAR_TASK_ID", task.id):
                process.kill_group(pgid)
                log.warning("reaped orphaned agent group", pgid=pgid, task_id=task.id)
    if ended or report.requeued:
        log.warning(
            "recovered tasks from a previous run",
            failed=len(report.failed),
            cancelled=len(report.cancelled),
            requeued=len(report.requeued),
            retried=len(report.children),
        )
