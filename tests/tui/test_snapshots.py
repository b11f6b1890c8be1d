"""A few screens as SVG snapshots (syrupy): a fixed clock and sequential ids on the daemon,
the cursor's blink off, so the same state always draws the same picture.

Update after an intended change: `uv run pytest tests/tui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.image import SVGImageSnapshotExtension
from textual.widgets import Input

from hangar.core.paths import HangarPaths
from hangar.testing import daemon_in_process, wait_for
from hangar.tui.screens.modals import AgentPicker, IssueForm
from tests.daemon.helpers import seed_home
from tests.tui.helpers import Served, running, wait_shown


@pytest.fixture
async def frozen(hangar_home: Path, migrated_db: Path) -> AsyncIterator[Served]:
    home = seed_home(hangar_home / "h", migrated_db)
    async with daemon_in_process(home, serve=True) as daemon:  # FixedClock, SequentialIdGen
        yield Served(daemon=daemon, paths=HangarPaths(home))


@pytest.fixture
def svg(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(SVGImageSnapshotExtension)


async def _seed(served: Served) -> None:
    await served.call("hangar/agent_create", {"name": "reviewer", "provider": "command",
                                              "command": ["true"]})  # fmt: skip
    first = await served.call("hangar/issue_create", {"title": "Fix the flaky login test"})
    await served.call("hangar/issue_create", {"title": "Write the release notes", "priority": 2})
    await served.call("hangar/issue_create", {"title": "Bump the dependencies", "priority": 1})
    # assigned to a person: no task runs, so nothing moves while the picture is taken
    owner = first["issue"]["creator"]
    await served.call("hangar/issue_update", {"issue_id": first["issue"]["id"], "assign": owner})


def _still(app: Any) -> None:
    for field in app.screen.query(Input):
        field.cursor_blink = False


async def test_the_issues_screen(frozen: Served, svg: SnapshotAssertion) -> None:
    await _seed(frozen)
    async with running(frozen) as pilot:
        await wait_shown(pilot, "Fix the flaky login test", "you", "Bump the dependencies")
        await pilot.pause()
        assert pilot.app.export_screenshot() == svg


async def test_the_new_issue_form(frozen: Served, svg: SnapshotAssertion) -> None:
    async with running(frozen) as pilot:
        await wait_shown(pilot, "No issues yet")
        await pilot.press("c")
        await wait_for(lambda: isinstance(pilot.app.screen, IssueForm))
        await pilot.press("ctrl+s")  # empty: the form says what is missing
        await wait_shown(pilot, "The title is missing")
        _still(pilot.app)
        await pilot.pause()
        assert pilot.app.export_screenshot() == svg


async def test_the_agent_picker(frozen: Served, svg: SnapshotAssertion) -> None:
    await _seed(frozen)
    async with running(frozen) as pilot:
        await wait_shown(pilot, "Fix the flaky login test")
        await pilot.press("a")
        await wait_for(lambda: isinstance(pilot.app.screen, AgentPicker))
        await wait_shown(pilot, "● reviewer")
        _still(pilot.app)
        await pilot.pause()
        assert pilot.app.export_screenshot() == svg
