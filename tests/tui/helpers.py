"""Driving the app and reading what it shows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from textual.pilot import Pilot

from hangar.core.paths import HangarPaths
from hangar.testing import InProcessDaemon, wait_for
from hangar.tui.app import HangarApp

__all__ = ["Served", "file_task", "running", "shown", "status_of", "wait_shown", "wait_status"]

SIZE = (120, 40)


@dataclass
class Served:
    daemon: InProcessDaemon
    paths: HangarPaths

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return await self.daemon.call(method, params)


@asynccontextmanager
async def running(
    served: Served, *, start: str = "issues", size: tuple[int, int] = SIZE
) -> AsyncIterator[Pilot[None]]:
    """The app, connected to the served daemon (it never starts one of its own)."""
    app = HangarApp(paths=served.paths, start=start, autostart=False)
    async with app.run_test(size=size, notifications=True) as pilot:
        await wait_for(lambda: app.link.up, timeout=15)
        yield pilot


def shown(app: HangarApp) -> str:
    """The screen as text, line by line, as a user would read it."""
    lines = []
    for strip in app.screen._compositor.render_update(full=True).strips:  # type: ignore[attr-defined]
        lines.append("".join(segment.text for segment in strip).rstrip())
    return "\n".join(lines)


async def wait_shown(pilot: Pilot[Any], *needles: str, timeout: float = 10) -> str:
    """Poll the screen until every needle is on it; the screen text, or a failure saying
    what was shown instead."""
    last = ""

    async def found() -> bool:
        nonlocal last
        await pilot.pause()
        last = shown(pilot.app)  # type: ignore[arg-type]
        return all(n in last for n in needles)

    try:
        await wait_for(found, timeout=timeout, interval=0.1)
    except TimeoutError:
        raise AssertionError(
            f"not shown within {timeout}s: {needles!r}\n--- screen ---\n{last}"
        ) from None
    return last


async def status_of(served: Served, task_id: str) -> str:
    detail = await served.call("hangar/task_get", {"task_id": task_id})
    return str(detail["task"]["status"])


async def wait_status(served: Served, task_id: str, *statuses: str, timeout: float = 60) -> None:
    async def there() -> bool:
        return await status_of(served, task_id) in statuses

    await wait_for(there, timeout=timeout, interval=0.05)


async def file_task(served: Served, title: str, agent: str) -> str:
    """An issue assigned to ``agent``: the id of the task that queues."""
    made = await served.call("hangar/issue_create", {"title": title, "assign": agent})
    return str(made["task"]["id"])
