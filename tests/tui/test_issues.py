"""Screen 1, Issues: the list, the filter chips, create, assign, open."""

from __future__ import annotations

from tests.tui.helpers import Served, running, wait_shown


async def test_the_issues_screen_lists_the_workspaces_issues(served: Served) -> None:
    await served.call("hangar/issue_create", {"title": "Fix the flaky login test"})
    async with running(served) as pilot:
        text = await wait_shown(pilot, "Fix the flaky login test", "open")
        assert "All" in text and "Agents" in text
