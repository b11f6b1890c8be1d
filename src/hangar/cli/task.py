"""hangar task list | show | log | cancel | retry"""

from __future__ import annotations

import time

import click

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
from hangar.cli.errors import ERROR, CliError
from hangar.core.fsm import TERMINAL, TaskStatus
from hangar.core.vocab import MessageKind
from hangar.proto import api, calls
from hangar.proto.rows import TaskMessageRow, TaskRow, TaskUsageRow

PAGE = 500
LANES: dict[str, tuple[str, str | None]] = {
    MessageKind.AGENT: ("▌", "green"),
    MessageKind.THINKING: ("*", "magenta"),
    MessageKind.TOOL_CALL: ("→", "blue"),
    MessageKind.TOOL_RESULT: ("←", "bright_black"),
    MessageKind.ERROR: ("!", "red"),
}


@click.group()
def task() -> None:
    """Tasks are agent runs: each in its own git worktree, through a strict lifecycle."""


@task.command("list")
@click.option(
    "--status",
    "status_",
    type=click.Choice([s.value for s in TaskStatus]),
)
@click.option("--issue", "issue_id", help="Only tasks of this issue.")
@click.option(
    "--limit",
    # click names the flag in its message; the wire's own bound would name $.limit
    type=click.IntRange(1, api.TASKS_PAGE_MAX),
    default=1000,
    show_default=True,
    help="At most this many, newest first.",
)
@click.option("--before", metavar="TASK_ID", help="The page after this task (see the hint).")
@common_options
def list_(
    status_: str | None,
    issue_id: str | None,
    limit: int | None,
    before: str | None,
    as_json: bool,
    workspace: str | None,
) -> None:
    """List tasks, newest first (long results clipped; `task show` has them whole)."""
    params = api.TasksListParams(
        workspace_id=workspace,
        status=TaskStatus(status_) if status_ else None,
        issue_id=issue_id,
        limit=limit,
        before=before,
    )
    res = request(calls.TASKS_LIST, params)
    rows = res.tasks
    more_hint("task", res.next_before)
    if as_json:
        emit_json(rows)
        return
    table(
        [
            (
                t.id,
                status(t.status),
                t.attempt,
                t.failure_reason or "",
                t.issue_id or "",
                fmt_time(t.created_at),
            )
            for t in rows
        ],
        ["ID", "STATUS", "ATTEMPT", "REASON", "ISSUE", "CREATED"],
    )


def _cost(usage: list[TaskUsageRow]) -> str | None:
    costs = [u.cost_usd for u in usage if u.cost_usd is not None]
    return f"${sum(costs):.4f}" if costs else None


def _task_params(workspace: str | None, task_id: str) -> api.TaskIdParams:
    return api.TaskIdParams(workspace_id=workspace, task_id=task_id)


@task.command()
@click.argument("task_id")
@common_options
def show(task_id: str, as_json: bool, workspace: str | None) -> None:
    """Show a task: status, result, tokens, cost, PR, worktree."""
    res = request(calls.TASK_GET, _task_params(workspace, task_id))
    if as_json:
        emit_json(res)
        return
    t, usage = res.task, res.usage
    result = t.result or {}
    tokens_in = sum(u.input_tokens for u in usage)
    tokens_out = sum(u.output_tokens for u in usage)
    kv(
        [
            ("id", t.id),
            ("status", status(t.status)),
            ("failure", t.failure_reason),
            ("attempt", _attempt(t)),
            ("parent", t.parent_task_id),
            ("issue", t.issue_id),
            ("agent", t.agent_id),
            ("session", t.session_id),
            ("worktree", t.work_dir),
            ("created", fmt_time(t.created_at)),
            ("started", fmt_time(t.started_at)),
            ("finished", fmt_time(t.finished_at)),
            ("tokens", f"{tokens_in} in / {tokens_out} out" if usage else None),
            ("cost", _cost(usage)),
            ("pr", result.get("pr_url")),
            ("error", result.get("error")),
            ("messages", res.message_count),
        ]
    )
    if result.get("content"):
        click.echo("\n" + result["content"].rstrip())


def print_message(m: TaskMessageRow) -> None:
    glyph, color = LANES.get(m.kind, ("?", None))
    body = m.body.rstrip("\n")
    first, *rest = body.split("\n") or [""]
    click.echo(
        click.style(f"{glyph} ", fg=color, bold=True)
        + click.style(first, fg=color if m.kind == MessageKind.ERROR else None)
    )
    for line in rest:
        click.echo("  " + line)


def follow(d: Daemon, workspace: str | None, task_id: str, *, as_json: bool, tail: bool) -> str:
    """Print the transcript; with ``tail`` keep printing until the task ends. Returns status."""
    import json

    import msgspec

    if tail:
        d.request(calls.WORKSPACE_SUBSCRIBE, api.WorkspaceScoped(workspace_id=workspace))
    last = 0
    status_now = ""

    def drain() -> str:
        nonlocal last
        while True:  # page through: a long transcript never has to fit in one reply
            params = api.TaskMessagesParams(
                workspace_id=workspace, task_id=task_id, after_seq=last, limit=PAGE
            )
            res = d.request(calls.TASK_MESSAGES, params)
            for m in res.messages:
                last = m.seq
                click.echo(json.dumps(msgspec.to_builtins(m))) if as_json else print_message(m)
            if len(res.messages) < PAGE and not res.more:
                return str(res.status)

    status_now = drain()
    while tail and status_now not in TERMINAL:
        ev = d.next_event(timeout=1.0)
        if ev is None or ev.get("task_id") == task_id:
            status_now = drain()
    return status_now


@task.command()
@click.argument("task_id")
@click.option("-f", "--follow", "tail", is_flag=True, help="Keep streaming until the task ends.")
@common_options
def log(task_id: str, tail: bool, as_json: bool, workspace: str | None) -> None:
    """Print a task's transcript (agent, thinking, tool calls and results, errors)."""
    with Daemon() as d:
        final = follow(d, workspace, task_id, as_json=as_json, tail=tail)
        if tail and not as_json:
            t = d.request(calls.TASK_GET, _task_params(workspace, task_id)).task
            reason = f" ({t.failure_reason})" if t.failure_reason else ""
            click.echo(f"-- task {final}{reason}", err=True)
        if tail and final != "done":
            raise click.exceptions.Exit(ERROR)


@task.command()
@click.argument("task_id")
@common_options
def cancel(task_id: str, as_json: bool, workspace: str | None) -> None:
    """Cancel a queued, dispatched or running task (its process group is killed)."""
    row = request(calls.TASK_CANCEL, _task_params(workspace, task_id))
    if as_json:
        emit_json(row)
    elif row.status == "cancelled":
        click.echo(f"cancelled task {row.id}")
    else:  # it runs under another daemon, which sees the request and stops it
        click.echo(f"cancel requested for task {row.id} ({row.status} on another daemon)")


@task.command()
@click.argument("task_id")
@common_options
def retry(task_id: str, as_json: bool, workspace: str | None) -> None:
    """Queue a new attempt of a failed or cancelled task."""
    row = request(calls.TASK_RETRY, _task_params(workspace, task_id))
    if as_json:
        emit_json(row)
    else:
        click.echo(f"queued retry {row.id} (attempt {row.attempt})")


@task.command()
@click.argument("task_id", required=False)
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@click.option(
    "--force",
    is_flag=True,
    help="Also remove uncommitted changes and branches with commits the base lacks (lost).",
)
@common_options
def clean(
    task_id: str | None, dry_run: bool, force: bool, as_json: bool, workspace: str | None
) -> None:
    """Remove ended tasks' worktrees and hangar/task/* branches from your repositories.

    Without --force nothing that holds work goes: a worktree with uncommitted changes is
    kept, and so is a branch with commits its repository's base branch does not have."""
    params = api.TaskCleanParams(
        workspace_id=workspace, task_id=task_id, dry_run=dry_run, force=force
    )
    res = request(calls.TASK_CLEAN, params)
    if as_json:
        emit_json(res)
        return
    if not res.items:
        click.echo("nothing to clean: no ended task has a worktree left")
        return
    verb = "would be" if dry_run else "was"
    for item in res.items:
        click.echo(f"{item.task_id}  {item.work_dir}")
        click.echo(
            f"  worktree {verb} {item.worktree}; branch {verb} {item.branch}"
            if dry_run
            else f"  worktree {item.worktree}; branch {item.branch}"
        )


def wait_for(d: Daemon, workspace: str | None, task_id: str, timeout_s: float) -> TaskRow:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        t = d.request(calls.TASK_GET, _task_params(workspace, task_id)).task
        if t.status in TERMINAL:
            return t
        time.sleep(0.1)
    raise CliError(f"task {task_id} did not finish within {timeout_s:.0f}s")


def _attempt(t: TaskRow) -> str:
    """``max_attempts`` caps automatic retries; a retry by hand may go past it."""
    if t.attempt <= t.max_attempts:
        return f"{t.attempt} of {t.max_attempts}"
    return f"{t.attempt} (retried by hand; automatic retries stop at {t.max_attempts})"
