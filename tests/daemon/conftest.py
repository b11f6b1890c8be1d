"""In-process daemon fixtures: the real services on a temporary SQLite, a fixed clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hangar.core.clock import FixedClock
from hangar.core.ids import SequentialIdGen
from hangar.store import Store
from hangar.testing import InProcessDaemon, daemon_in_process
from tests.daemon.helpers import seed_home


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
async def hangar(tmp_path: Path, clock: FixedClock) -> AsyncIterator[InProcessDaemon]:
    home = tmp_path / "h"  # unix socket paths are short: keep the home shallow
    async with daemon_in_process(home, clock=clock) as daemon:
        yield daemon


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per test process. Migrating costs most of a daemon's
    start; a copy of this one is already at the head revision, so opening it is quick."""
    path = tmp_path_factory.mktemp("template") / "hangar.db"

    async def migrate() -> None:
        store = await Store.open(
            f"sqlite+aiosqlite:///{path}", clock=FixedClock(), ids=SequentialIdGen()
        )
        await store.close()

    asyncio.run(migrate())
    return path


@pytest.fixture
def migrated(tmp_path: Path, migrated_db: Path) -> Path:
    """Seeds the home the ``hangar`` fixture opens (``tmp_path / "h"``) with a copy of the
    migrated database; request it before ``hangar`` (``usefixtures`` does)."""
    return seed_home(tmp_path / "h", migrated_db)
