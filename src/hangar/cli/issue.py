"""hangar issue create | list | show (the edits and the thread: ``issue_edit``; blockers:
``issue_deps``)"""

from __future__ import annotations

import os

import click
import msgspec

from hangar.cli.common import (
    Daemon,
    common_options,
    emit_json,
    fmt_time,
    kv,
    more_hint,
    request,
    status,
    table,
)
from hangar.cli.issue_deps import DEPS_COMMANDS, parse_ids, print_links
from hangar.cli.issue_edit import EDIT_COMMANDS
from hangar.core.vocab import PRIORITY_MAX, PRIORITY_MIN, IssueState
from hangar.proto import api, calls


@click.group()
def issue() -> None:
    """Issues are units of work; assigning one to an agent queues a task."""


for _command in (*EDIT_COMMANDS, *DEPS_COMMANDS):  # update … comment(s), block, unblock
    issue.add_command(_command)


@issue.command()
@click.option("--title", required=True, help="What needs doing (one line).")
@click.option("--description", "-d", help="Details; the agent sees them in its prompt.")
@click.option("--assign", metavar="AGENT", help="Agent name or id: queues a task at once.")
@click.option(
    "--repo",
    type=click.Path(),
    help="Git repository to work in (default: the one you are in; overrides the agent's).",
)
@click.option(
    "--no-repo",
    is_flag=True,
    help="Do not default to the current directory's repository.",
)
@click.option(
    "--priority",
    # click names the flag in its message; the wire's own bound would name $.priority
    type=click.IntRange(PRIORITY_MIN, PRIORITY_MAX),
    default=0,
    show_default=True,
    help="0 (lowest) to 3 (highest); lists and show print the same number.",
)
@click.option(
    "--blocked-by",
    "blocked_by",
    multiple=True,
    metavar="ID[,ID…]",
    help="Issues it waits for: its task is queued only once all of them are done.",
)
@common_options
def create(
    title: str,
    description: str | None,
    assign: str | None,
    repo: str | None,
    no_repo: bool,
    priority: int,
    blocked_by: tuple[str, ...],
    as_json: bool,
    workspace: str | None,
) -> None:
    """File an issue, optionally assigning it to an agent.

    The agent works in a worktree of the issue's repository: --repo, else the repository
    the current directory is in (--no-repo: none), else the agent's own.

    With --blocked-by the issue waits: assigning it queues nothing until every blocker is
    done, then the last one's finish queues its task. A missing id or a loop files nothing.
    """
    if repo and no_repo:
        raise click.UsageError("--repo and --no-repo exclude each other")
    from hangar.adapters.repos import enclosing_repository

    found = None if (repo or no_repo) else enclosing_repository()
    if found is not None:
        repo = str(found)
    res = request(
        calls.ISSUE_CREATE,
        api.IssueCreateParams(
            workspace_id=workspace,
            title=title,
            description=description,
            assign=assign,
            repo_path=os.path.abspath(repo) if repo else None,
            priority=priority,
            blocked_by=parse_ids(blocked_by),
        ),
    )
    if res.task is not None:  # work is queued: agents run with full access (once)
        from hangar.cli.full_access import warn_for_agent

        warn_for_agent(workspace, res.task.agent_id)
    if as_json:
        emit_json(res)
        return
    click.echo(f"created issue {res.issue.id}")
    if found is not None:
        click.echo(
            f"repository {res.issue.repo_path} (where you are; --repo or --no-repo to change)"
        )
    elif not res.issue.repo_path:
        click.echo(_without_repository(workspace, assign), err=True)
    if res.task:
        click.echo(f"queued task {res.task.id}  (follow: hangar task log {res.task.id} -f)")
    elif res.issue.blocked:
        click.echo(f"{res.issue.blocked}: nothing is queued until then")


def _without_repository(workspace: str | None, assign: str | None) -> str:
    """Where an issue with no repository will be worked on, said before anyone waits on it."""
    if assign:
        params = api.AgentGetParams(workspace_id=workspace, agent=assign)
        agent_repo = request(calls.AGENT_GET, params).repo_path
        if agent_repo:
            return f"no repository given: the agent works in its own, {agent_repo}"
    return (
        "no repository: the agent works in an empty scratch directory, without git "
        "(--repo PATH to give it one)"
    )


@issue.command("list")
@click.option("--state", type=click.Choice([s.value for s in IssueState]))
@click.option(
    "--limit",
    type=click.IntRange(1, api.ISSUES_PAGE_MAX),
    default=1000,
    show_default=True,
    help="At most this many, newest first.",
)
@click.option("--before", metavar="ISSUE_ID", help="The page after this issue (see the hint).")
@click.option("--blocked", is_flag=True, help="Only issues waiting for a blocker not done.")
@click.option("--ready", is_flag=True, help="Only issues nothing blocks.")
@common_options
def list_(
    state: str | None,
    limit: int,
    before: str | None,
    blocked: bool,
    ready: bool,
    as_json: bool,
    workspace: str | None,
) -> None:
    """List issues, newest first (long descriptions clipped; `issue show` has them whole).

    BLOCKED says why an issue waits: "blocked by ID" while a blocker is not done yet,
    "blocked: ID failed|cancelled|deleted" when one ended without done.
    """
    if blocked and ready:
        raise click.UsageError("--blocked and --ready exclude each other")
    params = api.IssuesListParams(
        workspace_id=workspace,
        state=IssueState(state) if state else None,
        limit=limit,
        before=before,
        blocked=True if blocked else False if ready else None,
    )
    res = request(calls.ISSUES_LIST, params)
    rows = res.issues
    more_hint("issue", res.next_before)
    if as_json:
        emit_json(rows)
        return
    names = _assignee_names(workspace, [i.assignee for i in rows])
    table(
        [
            (
                i.id,
                status(i.state),
                i.priority,
                names.get(i.assignee or "", i.assignee or ""),
                i.title[:60],
                fmt_time(i.created_at),
                i.blocked or "",
            )
            for i in rows
        ],
        ["ID", "STATE", "PRI", "ASSIGNEE", "TITLE", "CREATED", "BLOCKED"],
    )


@issue.command()
@click.argument("issue_id")
@common_options
def show(issue_id: str, as_json: bool, workspace: str | None) -> None:
    """Show an issue, its tasks, what it waits for and what waits for it (each with its
    state), and the end of its thread (newest last)."""
    from hangar.cli.issue_edit import SHOW_COMMENTS, print_thread, thread_page

    with Daemon() as d:
        res = d.request(
            calls.ISSUE_GET, api.IssueGetParams(workspace_id=workspace, issue_id=issue_id)
        )
        thread = thread_page(d, workspace, res.issue.id, limit=SHOW_COMMENTS)
        if as_json:  # the detail, and the thread's last page beside it
            emit_json(
                {
                    **msgspec.to_builtins(res),
                    "comments": msgspec.to_builtins(thread.comments),
                    "comments_next_before": thread.next_before,
                }
            )
            return
        _show_detail(res, _assignee_names(workspace, [res.issue.assignee], d))
        click.echo("")
        print_thread(d, workspace, res.issue.id, thread)


def _show_detail(res: api.IssueDetail, names: dict[str, str]) -> None:
    i = res.issue
    kv(
        [
            ("id", i.id),
            ("title", i.title),
            ("state", status(i.state)),
            ("priority", f"{i.priority} (0 lowest, {PRIORITY_MAX} highest)"),
            ("assignee", names.get(i.assignee or "", i.assignee)),
            ("repo", i.repo_path),
            ("created", fmt_time(i.created_at)),
            ("blocked", i.blocked),
        ]
    )
    if i.description:
        click.echo("\n" + i.description)
    if res.tasks:
        click.echo("")
        table(
            [
                (
                    t.id,
                    status(t.status),
                    t.attempt,
                    t.failure_reason or "",
                    (t.result or {}).get("pr_url", ""),
                )
                for t in res.tasks
            ],
            ["TASK", "STATUS", "ATTEMPT", "REASON", "PR"],
        )
    print_links(res)


def _assignee_names(
    workspace: str | None, refs: list[str | None], d: Daemon | None = None
) -> dict[str, str]:
    """``agent:<id>`` → the agent's name (one call, only when an agent is assigned; on
    ``d`` when the command holds a connection already)."""
    if not any(ref and ref.startswith("agent:") for ref in refs):
        return {}
    params = api.WorkspaceScoped(workspace_id=workspace)
    agents = (d.request if d else request)(calls.AGENTS_LIST, params).agents
    return {f"agent:{a.id}": a.name for a in agents}
