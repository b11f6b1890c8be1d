"""The TUI's one-time notice that agents run with full access: after the app queues work for
an agent, once before the first run and once per provider, with the CLI's acknowledgements."""

from __future__ import annotations

from hangar.adapters import acks
from hangar.proto import api, calls
from hangar.testing import wait_for
from hangar.tui.app import HangarApp
from hangar.tui.full_access import TITLE
from tests.tui.helpers import Served, running


def notices(app: HangarApp) -> list[str]:
    return [n.message for n in app._notifications if n.title == TITLE]


async def test_queued_work_shows_the_notice_once_per_provider(served: Served) -> None:
    for name, provider in (("bot", "command"), ("cc", "claude")):
        await served.call(
            "hangar/agent_create", {"name": name, "provider": provider, "command": ["true"]}
        )
    async with running(served) as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        await app.rpc(calls.ISSUES_LIST, api.IssuesListParams())  # reading queues nothing
        await pilot.pause()
        assert notices(app) == []

        await app.rpc(calls.ISSUE_CREATE, api.IssueCreateParams(title="a", assign="bot"))
        first = await wait_for(lambda: notices(app), timeout=10)
        assert "Agents run with full access: command" in first[0]

        await app.rpc(calls.ISSUE_CREATE, api.IssueCreateParams(title="b", assign="bot"))
        await app.rpc(calls.ISSUE_CREATE, api.IssueCreateParams(title="c"))  # no agent
        await app.rpc(calls.ISSUE_CREATE, api.IssueCreateParams(title="d", assign="cc"))
        both = await wait_for(lambda: len(notices(app)) == 2 and notices(app), timeout=10)
        assert both[1].startswith("First run of claude")
        await pilot.pause()
        assert len(notices(app)) == 2

    # the CLI's acknowledgements: a warning seen here is not said again by `hangar`
    assert set(acks.acknowledged(served.paths)) == {
        "first_run",
        "provider:command",
        "provider:claude",
    }
