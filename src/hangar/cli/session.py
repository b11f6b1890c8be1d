"""hangar session: create, list, show, send, read, idle, wait, attach, archive, delete, resume."""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from collections.abc import Iterator
from typing import Literal

import click

from hangar.cli.common import (
    Daemon,
    common_options,
    emit_json,
    fmt_time,
    kv,
    request,
    status,
    table,
)
from hangar.cli.errors import ERROR, CliError
from hangar.core.vocab import SessionStatus, WaitMode
from hangar.proto import api, calls
from hangar.proto.rows import SessionRow


def _styled(text: str | None) -> str:
    return "-" if not text else status(text)


def _duration_ms(value: str, what: str) -> int:
    from hangar.core.durations import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=what) from None


def _optional_ms(value: str | None, what: str) -> int | None:
    return None if value is None else _duration_ms(value, what)


def _meta(pairs: tuple[str, ...]) -> dict[str, str] | None:
    meta: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--meta")
        meta[key] = value
    return meta or None


def _show(row: SessionRow) -> None:
    kv(
        [
            ("id", row.id),
            ("name", row.name),
            ("status", _styled(row.status)),
            ("branch", row.branch),
            ("base branch", row.base_branch),
            ("worktree", row.worktree_path),
            ("repository", row.repo_path),
            ("tmux session", row.tmux_session),
            ("command", shlex.join(row.command)),
            ("agent", row.agent or "not said (judged by its screen)"),
            ("agent session", row.agent_session_id),
            ("meta", ", ".join(f"{k}={v}" for k, v in row.meta.items())),
            ("created", fmt_time(row.created_at)),
        ]
    )


def _ref(workspace: str | None, name: str) -> api.SessionRef:
    return api.SessionRef(workspace_id=workspace, id=name)


@click.group()
def session() -> None:
    """Interactive agents: each session is a git worktree in its own tmux session.

    \b
    hangar session create feat-login --prompt "Add a login page"
    hangar session wait feat-login          # until the agent settles
    hangar session read feat-login --lines 100
    hangar session attach feat-login        # step in (detach: Ctrl-b d)
    hangar session archive feat-login       # stop the agent, keep the branch
    """


@session.command()
@click.argument("name")
@click.option(
    "--repo",
    type=click.Path(file_okay=False),
    envvar=["HANGAR_REPO_PATH", "HARNESS_REPO_PATH"],
    help="Repository (default: the git toplevel of the current directory).",
)
@click.option("--branch", help="Branch to create or check out (default: NAME).")
@click.option("--base", "base_branch", help="Branch a new branch starts from (default: HEAD).")
@click.option("--prompt", help="Sent to the agent once it is ready.")
@click.option(
    "--command",
    "command",
    envvar=["HANGAR_CLAUDE_CMD", "HARNESS_CLAUDE_CMD"],
    help='Agent command line (default: "claude").',
)
@click.option(
    "--agent",
    type=click.Choice(["claude", "codex", "gemini"]),
    help="The agent COMMAND runs, when its first word does not say (env …, npx …, a script).",
)
@click.option(
    "--worktree-root",
    envvar=["HANGAR_WORKTREE_ROOT", "HARNESS_WORKTREE_ROOT"],
    help="Where worktrees go (default: <repo>/../worktrees).",
)
@click.option(
    "--prefix",
    envvar=["HANGAR_SESSION_PREFIX", "HARNESS_SESSION_PREFIX"],
    help="tmux session name prefix (default: harness-).",
)
@click.option(
    "--max",
    "max_sessions",
    type=click.IntRange(1, api.MAX_SESSIONS_LIMIT),
    envvar=["HANGAR_MAX_WORKSPACES", "HARNESS_MAX_WORKSPACES"],
    help="Refuse to go beyond this many active sessions of the repository (default 10).",
)
@click.option(
    "--idle-threshold",
    help="Quiet time before the session counts as idle, e.g. 5s (default 5s).",
)
@click.option("--meta", multiple=True, metavar="KEY=VALUE", help="Free-form metadata; repeatable.")
@common_options
def create(
    name: str,
    repo: str | None,
    branch: str | None,
    base_branch: str | None,
    prompt: str | None,
    command: str | None,
    agent: Literal["claude", "codex", "gemini"] | None,  # the choices above
    worktree_root: str | None,
    prefix: str | None,
    max_sessions: int | None,
    idle_threshold: str | None,
    meta: tuple[str, ...],
    as_json: bool,
    workspace: str | None,
) -> None:
    """Create a worktree, open it in tmux and launch the agent there."""
    argv = shlex.split(command) if command else None
    if command is not None and not argv:
        raise click.BadParameter("must not be empty", param_hint="--command")
    params = api.SessionCreateParams(
        workspace_id=workspace,
        name=name,
        repo_path=os.path.abspath(repo or "."),
        branch=branch,
        base_branch=base_branch,
        prompt=prompt,
        command=argv,
        agent=agent,
        worktree_root=os.path.abspath(worktree_root) if worktree_root else None,
        session_prefix=prefix,
        max_sessions=max_sessions,
        idle_threshold_ms=_optional_ms(idle_threshold, "--idle-threshold"),
        meta=_meta(meta),
    )
    row = request(calls.SESSION_CREATE, params)
    from hangar.cli.full_access import warn  # the agent runs with full access (once)

    warn(row.agent)
    if as_json:
        emit_json(row)
        return
    click.echo(f"created session {row.name} ({row.id})")
    click.echo(f"  worktree  {row.worktree_path}  (branch {row.branch})")
    click.echo(f"  attach    hangar session attach {row.name}")


@session.command("list")
@click.option("--all", "include_archived", is_flag=True, help="Include archived and orphaned.")
@click.option("--repo", type=click.Path(file_okay=False), help="Only this repository's sessions.")
@click.option(
    "--wait",
    "wait_for_idle",
    type=click.Choice([m.value for m in WaitMode]),
    default="none",
    show_default=True,
    help="Block until any/all active sessions settle (idle, waiting or exited).",
)
@click.option("--timeout", default="10m", show_default=True, help="How long --wait may block.")
@common_options
def list_(
    include_archived: bool,
    repo: str | None,
    wait_for_idle: Literal["none", "any", "all"],  # the choices above
    timeout: str,
    as_json: bool,
    workspace: str | None,
) -> None:
    """List sessions (active ones unless --all)."""
    params = api.SessionListParams(
        workspace_id=workspace,
        include_archived=include_archived,
        repo_path=os.path.abspath(repo) if repo else None,
        wait_for_idle=wait_for_idle,
        timeout_ms=_duration_ms(timeout, "--timeout"),
    )
    res = request(calls.SESSION_LIST, params)
    if as_json:
        emit_json(res)
    else:
        _print_list(res.sessions, include_archived, waited=wait_for_idle != "none")
    if res.timed_out:  # as `session wait`: a timeout is a failure a script can see
        raise CliError(f"timed out after {timeout} waiting for the sessions to settle", ERROR)


def _print_list(views: list[api.SessionView], include_archived: bool, *, waited: bool) -> None:
    if not views:
        click.echo("no sessions" + ("" if include_archived else " (try --all)"))
        return
    rows = [
        (
            v.session.name,
            _styled(v.session.status),
            *([_styled(v.state)] if waited else []),  # sampled only when waiting
            v.session.branch,
            v.session.worktree_path,
            fmt_time(v.session.created_at),
        )
        for v in views
    ]
    headers = ["NAME", "STATUS", *(["STATE"] if waited else []), "BRANCH", "WORKTREE", "CREATED"]
    table(rows, headers)


@session.command()
@click.argument("name")
@common_options
def show(name: str, as_json: bool, workspace: str | None) -> None:
    """Show one session."""
    row = request(calls.SESSION_GET, _ref(workspace, name))
    if as_json:
        emit_json(row)
    else:
        _show(row)


@session.command()
@click.argument("name")
@click.argument("text", nargs=-1)
@click.option("--no-enter", is_flag=True, help="Type the text without pressing Enter.")
@common_options
def send(
    name: str, text: tuple[str, ...], no_enter: bool, as_json: bool, workspace: str | None
) -> None:
    """Type TEXT into the agent and press Enter. TEXT "-" (or none) reads standard input.

    Text goes in literally: "Enter" or "C-c" are typed as letters, never read as keys."""
    body = " ".join(text)
    if body in ("", "-") and not sys.stdin.isatty():
        body = sys.stdin.read()
        body = body[:-1] if body.endswith("\n") else body
    params = api.SessionSendParams(
        workspace_id=workspace, id=name, text=body, press_enter=not no_enter
    )
    with _cli_spelling():
        res = request(calls.SESSION_SEND, params)
    if as_json:
        emit_json(res)
    else:  # say it landed, and how: a silent send looks like nothing happened
        how = "and pressed Enter" if not no_enter else "without Enter"
        count = f"{len(body)} character{'' if len(body) == 1 else 's'}"
        click.echo(f"sent {count} to {name} {how}")


@session.command()
@click.argument("name")
@click.option(
    "--lines",
    "-n",
    type=click.IntRange(1, api.READ_MAX_LINES),
    default=200,
    show_default=True,
    help="How many of the last lines to capture.",
)
@click.option(
    "--since-line",
    type=click.IntRange(min=0),
    help="Only lines after this many lines of history: pass back the last next_line "
    "(the last line is sent again, whole, as it may have grown).",
)
@common_options
def read(
    name: str, lines: int, since_line: int | None, as_json: bool, workspace: str | None
) -> None:
    """Print what the agent's terminal shows."""
    params = api.SessionReadParams(
        workspace_id=workspace, id=name, lines=lines, since_line=since_line
    )
    res = request(calls.SESSION_READ, params)
    if as_json:
        emit_json(res)
        return
    click.echo(res.content)
    if res.truncated:
        click.echo(
            "note: tmux dropped history past --since-line; these are the latest lines", err=True
        )
    if since_line is not None:
        click.echo(f"next: --since-line {res.next_line}", err=True)


def _print_state(res: api.SessionIdleResult) -> None:
    kv(
        [
            ("state", _styled(res.state)),
            ("idle", "yes" if res.idle else "no"),
            ("last change", res.last_changed_at),  # of the screen, or the last send
            ("quiet for", f"{res.elapsed_ms} ms (threshold {res.threshold_ms} ms)"),
        ]
    )


@session.command()
@click.argument("name")
@click.option("--threshold", help="Quiet time that counts as idle, e.g. 5s.")
@common_options
def idle(name: str, threshold: str | None, as_json: bool, workspace: str | None) -> None:
    """Is the agent busy, idle, waiting for input, or exited? (exit 0 either way)"""
    params = api.SessionIdleParams(
        workspace_id=workspace, id=name, threshold_ms=_optional_ms(threshold, "--threshold")
    )
    res = request(calls.SESSION_IDLE, params)
    if as_json:
        emit_json(res)
    else:
        _print_state(res)


@session.command()
@click.argument("name")
@click.option("--timeout", default="10m", show_default=True, help="Give up after this long.")
@click.option("--threshold", help="Quiet time that counts as idle, e.g. 5s.")
@click.option("--poll", default="500ms", show_default=True, help="How often to sample the pane.")
@common_options
def wait(
    name: str, timeout: str, threshold: str | None, poll: str, as_json: bool, workspace: str | None
) -> None:
    """Block until the agent settles: idle, waiting for input, or exited.

    Exit 0 when it settled, 1 on timeout."""
    params = api.SessionWaitIdleParams(
        workspace_id=workspace,
        id=name,
        timeout_ms=_duration_ms(timeout, "--timeout"),
        threshold_ms=_optional_ms(threshold, "--threshold"),
        poll_interval_ms=_duration_ms(poll, "--poll"),
    )
    res = request(calls.SESSION_WAIT_IDLE, params)
    if as_json:
        emit_json(res)
    else:
        _print_state(res)
    if res.timed_out:
        raise CliError(f"session {name} was still busy after {timeout}", ERROR)


@session.command()
@click.argument("name")
@click.option("--print", "print_only", is_flag=True, help="Print the tmux command instead.")
@common_options
def attach(name: str, print_only: bool, as_json: bool, workspace: str | None) -> None:
    """Step into the agent's terminal (replaces this process with tmux attach)."""
    res = request(calls.SESSION_ATTACH_HINT, _ref(workspace, name))
    if as_json:
        emit_json(res)
        return
    if print_only:
        click.echo(res.command)
        return
    argv = res.argv
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        raise CliError(f"could not run {argv[0]}: {exc}", ERROR) from None


#: the daemon's words for a parameter, and the flag a person types here
_FLAGS = (
    ("pass force=true", "pass --force"),
    ("with press_enter=false", "with --no-enter"),
    ("with press_enter=true", "without --no-enter"),
)


@contextlib.contextmanager
def _cli_spelling() -> Iterator[None]:
    """The daemon's refusals name the RPC/MCP parameter; here the user types a flag."""
    try:
        yield
    except CliError as exc:
        for wire, flag in _FLAGS:
            exc.message = exc.message.replace(wire, flag)
        raise


@session.command()
@click.argument("name")
@click.option("--force", is_flag=True, help="Archive even with uncommitted changes (lost).")
@common_options
def archive(name: str, force: bool, as_json: bool, workspace: str | None) -> None:
    """Ask the agent to exit, remove the worktree, keep the branch."""
    params = api.SessionArchiveParams(workspace_id=workspace, id=name, force=force)
    import threading

    # the agent gets a few seconds to exit on its own: if it takes a while, say why
    notice = threading.Timer(
        1.0,
        lambda: click.echo(f"waiting for {name}'s agent to exit (up to 5 s)…", err=True),
    )
    notice.daemon = True
    if not as_json:
        notice.start()
    try:
        with _cli_spelling():
            row = request(calls.SESSION_ARCHIVE, params)
    finally:
        notice.cancel()
    if as_json:
        emit_json(row)
    else:
        click.echo(f"archived session {row.name}; branch {row.branch} kept")


@session.command()
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Delete even with uncommitted or unpushed work (lost).")
@common_options
def delete(name: str, yes: bool, force: bool, as_json: bool, workspace: str | None) -> None:
    """Remove the session, its worktree and its branch for good."""
    if not yes:
        if not sys.stdin.isatty():
            raise CliError(f"deleting session {name} is permanent; pass --yes to confirm", 2)
        click.confirm(f"Delete session {name}, its worktree and its branch?", abort=True)
    params = api.SessionDeleteParams(workspace_id=workspace, id=name, confirm=True, force=force)
    with _cli_spelling():
        res = request(calls.SESSION_DELETE, params)
    if as_json:
        emit_json(res)
    else:
        click.echo(f"deleted session {name}")


#: a relaunch writes a new pane id (a new tmux server may number it the same) and so a
#: new updated_at
_LAUNCH_FIELDS = ("pane_id", "updated_at")


@session.command()
@click.argument("name")
@click.option(
    "--max",
    "max_sessions",
    type=click.IntRange(1, api.MAX_SESSIONS_LIMIT),
    envvar=["HANGAR_MAX_WORKSPACES", "HARNESS_MAX_WORKSPACES"],
    help="Refuse to go beyond this many active sessions of the repository (default 10).",
)
@common_options
def resume(name: str, max_sessions: int | None, as_json: bool, workspace: str | None) -> None:
    """Relaunch an orphaned, archived or exited session, keeping the agent's conversation."""
    params = api.SessionResumeParams(workspace_id=workspace, id=name, max_sessions=max_sessions)
    with Daemon() as d:
        before = d.request(calls.SESSION_GET, _ref(workspace, name))
        row = d.request(calls.SESSION_RESUME, params)
    if as_json:
        emit_json(row)
    elif before.status == SessionStatus.ACTIVE and all(
        getattr(before, k) == getattr(row, k) for k in _LAUNCH_FIELDS
    ):
        # resume is idempotent: an untouched row means its agent was running all along
        click.echo(f"session {row.name} is already running; nothing to resume")
    else:
        click.echo(f"resumed session {row.name}  (attach: hangar session attach {row.name})")
