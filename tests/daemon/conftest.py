"""In-process daemon fixtures: the real services on a temporary SQLite, a fixed clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hangar.core.clock import FixedClock
from hangar.testing import InProcessDaemon, daemon_in_process


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
async def hangar(tmp_path: Path, clock: FixedClock) -> AsyncIterator[InProcessDaemon]:
    home = tmp_path / "h"  # unix socket paths are short: keep the home shallow
    async with daemon_in_process(home, clock=clock) as daemon:
        yield daemon
