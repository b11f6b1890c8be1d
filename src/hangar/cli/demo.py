"""hangar demo: one issue run end to end in a throwaway sandbox, nothing else touched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from hangar.cli.common import emit_json, kv
from hangar.cli.errors import ERROR, CliError
from hangar.core.ids import short_id
from hangar.proto import api, calls


def _git(repo: Path, *args: str) -> str:
    res = subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.name=Hangar Demo",
            "-c",
            "user.email=demo@hangar.local",
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        raise CliError(f"git {' '.join(args)} failed: {res.stderr.strip()}")
    return res.stdout


def _step(n: int, text: str) -> None:
    click.echo(click.style(f"[{n}/5] ", fg="cyan", bold=True) + text)


@click.command()
@click.option("--keep", is_flag=True, help="Keep the sandbox (home, repo, worktree) afterwards.")
@click.option("--json", "as_json", is_flag=True, help="Print the finished task as JSON.")
@click.option("--workspace", "-w", hidden=True)
def demo(keep: bool, as_json: bool, workspace: str | None) -> None:
    """Run one issue end to end: a temp git repo, a scripted agent speaking Claude Code's
    stream-json, a private daemon; the transcript streams, then the result is shown."""
    from hangar.cli.common import Daemon
    from hangar.cli.task import follow

    if shutil.which("git") is None:
        raise CliError("the demo needs git on PATH")
    sandbox = Path(tempfile.mkdtemp(prefix="hangar-demo-"))
    home, repo = sandbox / "home", sandbox / "repo"
    os.environ["AINB_HANGAR_HOME"] = str(home)  # a private daemon, database and logs
    os.environ.pop("HANGAR_DATABASE_URL", None)
    os.environ.pop("HANGAR_WORKSPACE", None)
    out = sys.stderr if as_json else sys.stdout
    ok = False
    try:
        _step(1, f"sandbox {sandbox}") if not as_json else None
        repo.mkdir()
        _git(repo, "init", "-q", "-b", "main")
        (repo / "README.md").write_text("# demo repo\n")
        _git(repo, "add", "README.md")
        _git(repo, "commit", "-q", "-m", "initial commit")
        with Daemon() as d:
            h = d.request(calls.HEALTH, api.Empty())
            if not as_json:
                _step(2, f"daemon started (pid {h.pid}, {h.database})")
            agent = api.AgentCreateParams(
                name="demo-agent",
                provider="claude",
                command=[sys.executable, "-m", "hangar.demo_agent"],
                repo_path=str(repo),
                instructions="You are a careful engineer. Commit your work.",
            )
            d.request(calls.AGENT_CREATE, agent)
            issue = api.IssueCreateParams(
                title="Add a hello file",
                description="Create hello.txt greeting the world, and commit it.",
                assign="demo-agent",
            )
            res = d.request(calls.ISSUE_CREATE, issue)
            if res.task is None:  # assigned on creation: the task is queued with the issue
                raise CliError("the demo issue was filed without a task")
            task_id = res.task.id
            if not as_json:
                _step(3, f"issue {res.issue.id} assigned; task {task_id} queued")
                _step(4, "transcript (live):")
            t0 = time.monotonic()
            final = follow(d, None, task_id, as_json=False, tail=True) if not as_json else None
            if as_json:
                from hangar.cli.task import wait_for

                wait_for(d, None, task_id, 60)
            detail = d.request(calls.TASK_GET, api.TaskIdParams(task_id=task_id))
            t, usage = detail.task, detail.usage
            ok = t.status == "done"
            branch = f"hangar/task/{short_id(t.id)}"
            if as_json:
                emit_json(detail)
            else:
                result = t.result or {}
                cost = sum(u.cost_usd or 0 for u in usage)
                _step(5, f"result: {final} in {time.monotonic() - t0:.1f}s")
                kv(
                    [
                        ("status", t.status),
                        ("result", result.get("content", "").strip()),
                        ("session", t.session_id),
                        (
                            "tokens",
                            f"{sum(u.input_tokens for u in usage)} in / "
                            f"{sum(u.output_tokens for u in usage)} out",
                        ),
                        ("cost", f"${cost:.4f}"),
                        ("branch", branch),
                    ]
                )
                # the finished task's clean worktree is gone; its commits stay on its branch
                click.echo("\n" + _git(repo, "log", "--oneline", "-3", branch).rstrip())
    finally:
        _stop_daemon(home)
        if keep:
            click.echo(f"\nsandbox kept: {sandbox}  (AINB_HANGAR_HOME={home})", file=out)
        else:
            shutil.rmtree(sandbox, ignore_errors=True)
    if not ok:
        raise click.exceptions.Exit(ERROR)


def _stop_daemon(home: Path, timeout_s: float = 15.0) -> None:
    """The sandbox's private daemon never outlives the demo, even on Ctrl-C or an error."""
    from hangar.cli.common import Daemon

    pid_file = home / "daemon.pid"
    if not pid_file.exists():
        return
    try:
        with Daemon(autostart=False) as d:
            d.request(calls.DAEMON_SHUTDOWN, api.Empty())
    except CliError:
        pass
    deadline = time.monotonic() + timeout_s
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
