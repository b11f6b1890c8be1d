"""The session service in-process: a real temporary SQLite store, a clock that moves only
when told, a private tmux server and throwaway git repositories (from tests/sessions)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hangar.core.clock import FixedClock
from hangar.core.ids import SequentialIdGen
from hangar.daemon.sessions.service import SessionService
from hangar.daemon.sessions.tmux import Tmux
from hangar.proto import api
from hangar.proto.rows import SessionRow
from hangar.store import Store
from tests.sessions.conftest import repo, tmux_server

__all__ = ["Harness", "RecordingLog", "harness", "repo", "tmux_server"]

#: long enough for `cat` to be running, short enough to keep creates quick: `cat` never
#: exits on its own, so the probe passes however loaded the machine is
QUICK_PROBE_S = 0.05


@dataclass
class RecordingLog:
    """A structlog-style logger that keeps (level, event, fields)."""

    lines: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def info(self, event: str, /, **kw: Any) -> None:
        self.lines.append(("info", event, kw))

    def warning(self, event: str, /, **kw: Any) -> None:
        self.lines.append(("warning", event, kw))

    def events(self, level: str | None = None) -> list[str]:
        return [e for lvl, e, _ in self.lines if level is None or lvl == level]


@dataclass
class Harness:
    store: Store
    clock: FixedClock
    tmux: Tmux
    repo: Path
    workspace_id: str
    log: RecordingLog
    service: SessionService

    def with_service(self, *, tmux: Tmux | None = None, **kw: Any) -> SessionService:
        """Another service on the same store and clock (a different tmux, probe, prefix)."""
        self.service = make_service(self.store, self.clock, self.log, tmux or self.tmux, **kw)
        return self.service

    async def create(self, name: str, **params: Any) -> SessionRow:
        p = api.SessionCreateParams(
            name=name, repo_path=str(self.repo), **{"command": ["cat"], **params}
        )
        return await self.service.create(self.workspace_id, p)

    async def row(self, ref: str) -> SessionRow | None:
        return await self.store.session_get(self.workspace_id, ref)


@pytest.fixture
async def harness(tmp_path: Path, tmux_server: Tmux, repo: Path) -> AsyncIterator[Harness]:
    clock = FixedClock()
    store = await Store.open(
        f"sqlite+aiosqlite:///{tmp_path / 'hangar.db'}", clock=clock, ids=SequentialIdGen()
    )
    try:
        ws = await store.workspace_create("team", "Team")
        log = RecordingLog()
        service = make_service(store, clock, log, tmux_server)
        yield Harness(store, clock, tmux_server, repo, ws.id, log, service)
    finally:
        await store.close()


def make_service(
    store: Store, clock: FixedClock, log: RecordingLog, tmux: Tmux, **kw: Any
) -> SessionService:
    return SessionService(
        store=store,
        clock=clock,
        log=log,
        tmux=tmux,
        **{"parent_env": {"PATH": os.environ["PATH"]}, "launch_probe_s": QUICK_PROBE_S, **kw},
    )
