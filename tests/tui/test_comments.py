"""Issue threads in the UI: under a task (its issue's thread, the agent's result in it), in
the issue view (v on Issues), the comment form (m) and its refusals, new comments as events."""

from __future__ import annotations

from textual.widgets import TextArea

from hangar.core.comments import COMMENT_MAX_BYTES
from hangar.proto import methods
from hangar.testing import wait_for
from hangar.tui.app import HangarApp
from hangar.tui.screens.task import TaskScreen
from hangar.tui.screens.thread import CommentForm, IssueThreadScreen
from tests.daemon.helpers import make_agent
from tests.tui.helpers import Served, file_task, running, wait_shown, wait_status


async def _comment(served: Served, issue_id: str, body: str) -> None:
    await served.call(methods.COMMENT_ADD, {"issue_id": issue_id, "body": body})


async def test_a_task_shows_its_issues_thread_and_m_adds_to_it(served: Served) -> None:
    await make_agent(served.daemon, "hello", ["sh", "-c", "echo hello-from-agent"])
    task_id = await file_task(served, "Say hello", "hello")
    detail = await served.call(methods.TASK_GET, {"task_id": task_id})
    issue_id = detail["task"]["issue_id"]
    await _comment(served, issue_id, "Please say *hello*")
    await wait_status(served, task_id, "done")

    async with running(served) as pilot:
        app = pilot.app
        assert isinstance(app, HangarApp)
        app.open_task(task_id)
        await wait_for(lambda: isinstance(app.screen, TaskScreen), timeout=10)
        # the person's request, then the agent's answer (its result, posted when done)
        text = await wait_shown(pilot, "thread · 2 comments", "Please say *hello*")
        assert text.index("Please say *hello*") < text.rindex("hello-from-agent")
        assert "you" in text
        assert methods.COMMENTS_LIST in app.sent

        await pilot.press("m")
        await wait_for(lambda: isinstance(app.screen, CommentForm), timeout=10)
        await pilot.press("ctrl+s")  # nothing written yet
        await wait_shown(pilot, "The comment is empty")
        form = app.screen
        form.query_one("#comment-body", TextArea).text = "x" * (COMMENT_MAX_BYTES + 1)
        await pilot.press("ctrl+s")
        await wait_shown(pilot, "the limit is 64 KiB")  # the daemon's words, in the form
        assert isinstance(app.screen, CommentForm)
        form.query_one("#comment-body", TextArea).text = "Thanks, agent"
        await pilot.press("ctrl+s")
        await wait_for(lambda: isinstance(app.screen, TaskScreen), timeout=10)
        await wait_shown(pilot, "thread · 3 comments", "Thanks, agent")  # by the event
        assert methods.COMMENT_ADD in app.sent

        # someone else writes meanwhile (the CLI, another tab): it arrives as an event
        await _comment(served, issue_id, "From elsewhere")
        await wait_shown(pilot, "thread · 4 comments", "From elsewhere")

    page = await served.call(methods.COMMENTS_LIST, {"issue_id": issue_id})
    assert [c["body"] for c in page["comments"]][-2:] == ["Thanks, agent", "From elsewhere"]


async def test_v_views_an_issue_with_its_thread_and_m_comments(served: Served) -> None:
    made = await served.call(
        methods.ISSUE_CREATE, {"title": "Discuss the plan", "description": "The whole plan"}
    )
    issue_id = made["issue"]["id"]
    await _comment(served, issue_id, "First thoughts")

    async with running(served) as pilot:
        app = pilot.app
        await wait_shown(pilot, "Discuss the plan")
        await pilot.press("v")
        await wait_for(lambda: isinstance(app.screen, IssueThreadScreen), timeout=10)
        await wait_shown(pilot, "The whole plan", "First thoughts", "thread · 1 comment")

        await pilot.press("m")
        await wait_for(lambda: isinstance(app.screen, CommentForm), timeout=10)
        await pilot.press(*"Second", "ctrl+s")
        await wait_for(lambda: isinstance(app.screen, IssueThreadScreen), timeout=10)
        await wait_shown(pilot, "Second", "thread · 2 comments")

        # an edit of the issue shows in the view as it happens
        await served.call(methods.ISSUE_UPDATE, {"issue_id": issue_id, "state": "done"})
        await wait_shown(pilot, "done")
        await pilot.press("escape")
        await wait_shown(pilot, "Discuss the plan", "ASSIGNEE")
        assert not isinstance(app.screen, IssueThreadScreen)
