"""hangar issue update | assign | unassign | close | reopen | comment | comments

Each edit is one ``hangar/issue_update``: the daemon writes it and what it implies in one
transaction (a task queued for an agent, tasks cancelled on closing) and refuses a state the
issue cannot move to, naming the ones it can (docs/lifecycle.md#editing-an-issue).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from hangar.cli.common import Daemon, common_options, emit_json, fmt_time, usage_error
from hangar.core.vocab import PRIORITY_MAX, PRIORITY_MIN, IssueState
from hangar.proto import api, calls
from hangar.proto import comments as cm
from hangar.proto.rows import IssueRow

__all__ = ["EDIT_COMMANDS", "print_thread", "thread_page"]

#: comments ``issue show`` prints: the end of the thread
SHOW_COMMENTS = 20


def _edit(workspace: str | None, issue_id: str, **fields: Any) -> IssueRow:
    params = api.IssueUpdateParams(workspace_id=workspace, issue_id=issue_id, **fields)
    with Daemon() as d:
        return d.request(calls.ISSUE_UPDATE, params)


def _said(as_json: bool, row: IssueRow, text: str) -> None:
    if as_json:
        emit_json(row)
    else:
        click.echo(text)


@click.command()
@click.argument("issue_id")
@click.option("--title", help="A new title (one line).")
@click.option("--description", "-d", help='A new description ("" clears it).')
@click.option(
    "--priority",
    type=click.IntRange(PRIORITY_MIN, PRIORITY_MAX),
    help="0 (lowest) to 3 (highest); a queued task of the issue takes it too.",
)
@click.option(
    "--state",
    type=click.Choice([s.value for s in IssueState]),
    help="Done or cancelled closes it: its unfinished tasks are cancelled.",
)
@common_options
def update(
    issue_id: str,
    title: str | None,
    description: str | None,
    priority: int | None,
    state: str | None,
    as_json: bool,
    workspace: str | None,
) -> None:
    """Change an issue's title, description, priority or state, in one go."""
    if title is None and description is None and priority is None and state is None:
        raise usage_error("nothing to change: give --title, --description, --priority or --state")
    row = _edit(
        workspace,
        issue_id,
        title=title,
        description=description,
        priority=priority,
        state=IssueState(state) if state else None,
    )
    _said(as_json, row, f"updated issue {row.id}: {row.state}, priority {row.priority}")


@click.command()
@click.argument("issue_id")
@click.argument("agent")
@common_options
def assign(issue_id: str, agent: str, as_json: bool, workspace: str | None) -> None:
    """Give ISSUE_ID to AGENT (name or id, or member:<id>): an agent's task is queued, and a
    pending task of the agent that had it is cancelled."""
    with Daemon() as d:
        params = api.IssueUpdateParams(workspace_id=workspace, issue_id=issue_id, assign=agent)
        row = d.request(calls.ISSUE_UPDATE, params)
        queued = []
        if row.assignee and row.assignee.startswith("agent:"):
            agent_id = row.assignee.removeprefix("agent:")
            # the newest task of the agent: the one just queued (it may be claimed already)
            found = d.request(
                calls.TASKS_LIST,
                api.TasksListParams(workspace_id=workspace, issue_id=row.id, limit=20),
            )
            queued = [t for t in found.tasks if t.agent_id == agent_id][:1]
    if queued:
        from hangar.cli.full_access import warn_for_agent  # agents run with full access (once)

        warn_for_agent(workspace, queued[0].agent_id)
    if as_json:
        emit_json(row)
        return
    click.echo(f"assigned issue {row.id} to {agent}")
    if queued:
        task_id = queued[0].id
        click.echo(f"queued task {task_id}  (follow: hangar task log {task_id} -f)")


@click.command()
@click.argument("issue_id")
@common_options
def unassign(issue_id: str, as_json: bool, workspace: str | None) -> None:
    """Nobody holds ISSUE_ID any more; a pending task of its agent is cancelled."""
    row = _edit(workspace, issue_id, unassign=True)
    _said(as_json, row, f"issue {row.id} is unassigned")


@click.command()
@click.argument("issue_id")
@click.option(
    "--as",
    "as_state",
    type=click.Choice([IssueState.DONE.value, IssueState.CANCELLED.value]),
    default=IssueState.DONE.value,
    show_default=True,
    help="Closed as done, or as cancelled (not to be done).",
)
@common_options
def close(issue_id: str, as_state: str, as_json: bool, workspace: str | None) -> None:
    """Close ISSUE_ID: its queued tasks are cancelled, running ones stopped."""
    row = _edit(workspace, issue_id, state=IssueState(as_state))
    _said(as_json, row, f"closed issue {row.id} as {row.state}; its unfinished tasks are cancelled")


@click.command()
@click.argument("issue_id")
@common_options
def reopen(issue_id: str, as_json: bool, workspace: str | None) -> None:
    """Open ISSUE_ID again (assign it to queue new work)."""
    row = _edit(workspace, issue_id, state=IssueState.OPEN)
    _said(as_json, row, f"reopened issue {row.id}")


@click.command()
@click.argument("issue_id")
@click.argument("text", required=False)
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the comment from stdin.")
@click.option("--author", metavar="AGENT", help="Write as this agent (default: you).")
@common_options
def comment(
    issue_id: str,
    text: str | None,
    from_stdin: bool,
    author: str | None,
    as_json: bool,
    workspace: str | None,
) -> None:
    """Add TEXT (markdown; `-` or --stdin reads it from stdin) to ISSUE_ID's thread."""
    if from_stdin or text == "-":
        if text not in (None, "-"):
            raise usage_error("give the comment as TEXT or on stdin, not both")
        text = sys.stdin.read()
    if text is None:
        raise usage_error('give the comment: TEXT, or "-" / --stdin to read it from stdin')
    params = cm.CommentAddParams(
        workspace_id=workspace, issue_id=issue_id, body=text, author=author
    )
    with Daemon() as d:
        row = d.request(calls.COMMENT_ADD, params)
    if as_json:
        emit_json(row)
    else:
        click.echo(f"commented on issue {row.issue_id} ({row.id})")


@click.command()
@click.argument("issue_id")
@click.option(
    "--limit",
    type=click.IntRange(1, cm.COMMENTS_PAGE_MAX),
    default=cm.COMMENTS_PAGE_DEFAULT,
    show_default=True,
    help="At most this many: the newest, printed oldest first.",
)
@click.option("--before", metavar="COMMENT_ID", help="The older page, before this comment.")
@common_options
def comments(
    issue_id: str, limit: int, before: str | None, as_json: bool, workspace: str | None
) -> None:
    """ISSUE_ID's thread, newest last; --before walks back to older comments."""
    with Daemon() as d:
        page = thread_page(d, workspace, issue_id, limit=limit, before=before)
        if as_json:
            emit_json(page)
            return
        print_thread(d, workspace, issue_id, page)


def thread_page(
    d: Daemon, workspace: str | None, issue_id: str, *, limit: int, before: str | None = None
) -> cm.CommentsListResult:
    params = cm.CommentsListParams(
        workspace_id=workspace, issue_id=issue_id, limit=limit, before=before
    )
    return d.request(calls.COMMENTS_LIST, params)


def print_thread(
    d: Daemon, workspace: str | None, issue_id: str, page: cm.CommentsListResult
) -> None:
    """Each comment: who and when, then its text indented; the way to older ones first."""
    if page.next_before is not None:
        click.echo(
            click.style(
                f"older comments: hangar issue comments {issue_id} --before {page.next_before}",
                dim=True,
            )
        )
    if not page.comments:
        click.echo("no comments yet")
        return
    actors = d.request(calls.AGENTS_LIST, api.WorkspaceScoped(workspace_id=workspace)).actors
    names = {a.actor_ref: a.display_name + (" (agent)" if a.is_agent else "") for a in actors}
    for n, c in enumerate(page.comments):
        if n:
            click.echo("")
        who = names.get(c.author, c.author)
        click.echo(click.style(f"{who} · {fmt_time(c.created_at)}", bold=True))
        for line in c.body.splitlines():
            click.echo(f"  {line}".rstrip())


EDIT_COMMANDS = (update, assign, unassign, close, reopen, comment, comments)
