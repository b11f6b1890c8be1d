"""Small tools the daemon's in-process tests share: a logger that keeps what it was told,
a store wrapper that records which calls were made, and shortcuts to set up agents."""

from __future__ import annotations

import functools
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hangar.testing import InProcessDaemon

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FAKE_CLAUDE = FIXTURES / "fake_claude.py"


@dataclass
class RecordingLog:
    """A structlog-style logger that keeps (level, event, fields)."""

    lines: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    bound: dict[str, Any] = field(default_factory=dict)

    def bind(self, **kw: Any) -> RecordingLog:
        return RecordingLog(self.lines, {**self.bound, **kw})

    def _keep(self, level: str, event: str, kw: dict[str, Any]) -> None:
        self.lines.append((level, event, {**self.bound, **kw}))

    def debug(self, event: str, /, **kw: Any) -> None:
        self._keep("debug", event, kw)

    def info(self, event: str, /, **kw: Any) -> None:
        self._keep("info", event, kw)

    def warning(self, event: str, /, **kw: Any) -> None:
        self._keep("warning", event, kw)

    def error(self, event: str, /, **kw: Any) -> None:
        self._keep("error", event, kw)

    def exception(self, event: str, /, **kw: Any) -> None:
        self._keep("exception", event, kw)

    def events(self, level: str | None = None) -> list[str]:
        return [e for lvl, e, _ in self.lines if level is None or lvl == level]

    def fields(self, event: str) -> list[dict[str, Any]]:
        return [kw for _, e, kw in self.lines if e == event]


class StoreRecorder:
    """Wraps the real store; every method called through it is named in ``calls``."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        @functools.wraps(attr)
        async def recorded(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return await attr(*args, **kwargs)

        return recorded


async def make_agent(
    hangar: InProcessDaemon,
    name: str = "ok",
    command: Sequence[str] = ("true",),
    *,
    provider: str = "command",
    **fields: Any,
) -> dict[str, Any]:
    """An agent (plain dict, as the RPC answers) in the default workspace."""
    params = {"name": name, "provider": provider, "command": list(command), **fields}
    return await hangar.call("hangar/agent_create", params)


def claude_command(scenario: str) -> list[str]:
    """argv of the fake Claude CLI playing ``scenario``."""
    return [sys.executable, str(FAKE_CLAUDE), "--scenario", scenario]


async def runtime_ids(hangar: InProcessDaemon) -> list[str]:
    return [r.id for r in await hangar.store.runtimes_for_daemon(hangar.daemon.daemon_id)]


async def task_row(hangar: InProcessDaemon, task_id: str) -> dict[str, Any]:
    return (await hangar.call("hangar/task_get", {"task_id": task_id}))["task"]


def seed_home(home: Path, migrated_db: Path) -> Path:
    """A daemon home holding a copy of the migrated database (see ``migrated_db``)."""
    home.mkdir(mode=0o700, parents=True)  # before the daemon opens it, never after
    shutil.copyfile(migrated_db, home / "hangar.db")
    return home
