"""The TUI against a real daemon: its socket served in the test's own event loop (real
store, lifecycle, dispatcher), driven by Textual's Pilot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hangar.core.clock import SystemClock
from hangar.core.ids import UlidGen
from hangar.core.paths import HangarPaths
from hangar.testing import InProcessDaemon, daemon_in_process
from tests.daemon.conftest import migrated_db  # noqa: F401  (a fixture)
from tests.daemon.helpers import seed_home
from tests.tui.helpers import Served


@pytest.fixture
async def served(hangar_home: Path, migrated_db: Path) -> AsyncIterator[Served]:  # noqa: F811
    home = seed_home(hangar_home / "h", migrated_db)  # short: the socket lives there
    async with daemon_in_process(home, clock=SystemClock(), ids=UlidGen(), serve=True) as daemon:
        yield Served(daemon=daemon, paths=HangarPaths(home))


__all__ = ["InProcessDaemon"]
