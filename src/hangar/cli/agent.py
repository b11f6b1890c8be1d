"""hangar agent create | list | show"""

from __future__ import annotations

import shlex

import click

from hangar.cli.common import common_options, emit_json, fmt_time, kv, request, table, usage_error
from hangar.core.vocab import Provider
from hangar.proto import api, calls


def _duration_ms(text: str | None, flag: str) -> int | None:
    if text is None:
        return None
    from hangar.core.durations import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise usage_error(f"{flag}: {exc}") from None


@click.group()
def agent() -> None:
    """Agents run work: a provider CLI (claude, codex, gemini) or any command."""


@agent.command()
@click.option("--name", required=True, help="Unique name in the workspace.")
@click.option(
    "--provider",
    required=True,
    type=click.Choice([p.value for p in Provider]),
    help="Which CLI runs the work.",
)
@click.option(
    "--command",
    "command",
    metavar="ARGV",
    help='For "command": the argv to run (prompt on stdin and in $HANGAR_PROMPT). For the '
    "others: replaces the CLI executable, e.g. a full path.",
)
@click.option("--model", help="Model name passed to the provider.")
@click.option(
    "--max-concurrent-tasks",
    # click names the flag in its message; the wire's own bound would name the field
    type=click.IntRange(1, api.MAX_CONCURRENT_TASKS_LIMIT),
    default=1,
    show_default=True,
)
@click.option("--instructions", default="", help="Prepended to every prompt.")
@click.option("--repo", "repo", type=click.Path(), help="Default git repository for its tasks.")
@click.option(
    "--max-runtime", metavar="DURATION", help="Kill a run after this long (default 2.5h)."
)
@click.option(
    "--inactivity-timeout", metavar="DURATION", help="Kill a run silent this long (default 30m)."
)
@common_options
def create(
    name: str,
    provider: str,
    command: str | None,
    model: str | None,
    max_concurrent_tasks: int,
    instructions: str,
    repo: str | None,
    max_runtime: str | None,
    inactivity_timeout: str | None,
    as_json: bool,
    workspace: str | None,
) -> None:
    """Create an agent."""
    import os

    try:
        argv = shlex.split(command) if command is not None else None
    except ValueError as exc:
        raise usage_error(f"--command: {exc}") from None
    params = api.AgentCreateParams(
        workspace_id=workspace,
        name=name,
        provider=provider,
        command=argv,
        model=model,
        instructions=instructions,
        max_concurrent_tasks=max_concurrent_tasks,
        repo_path=os.path.abspath(repo) if repo else None,
        max_runtime_ms=_duration_ms(max_runtime, "--max-runtime"),
        inactivity_timeout_ms=_duration_ms(inactivity_timeout, "--inactivity-timeout"),
    )
    row = request(calls.AGENT_CREATE, params)
    if as_json:
        emit_json(row)
    else:
        click.echo(f"created agent {row.name} ({row.id})")


@agent.command("list")
@common_options
def list_(as_json: bool, workspace: str | None) -> None:
    """List agents."""
    rows = request(calls.AGENTS_LIST, api.WorkspaceScoped(workspace_id=workspace)).agents
    if as_json:
        emit_json(rows)
        return
    table(
        [
            (a.name, a.provider, a.model or "", a.max_concurrent_tasks, a.repo_path or "", a.id)
            for a in rows
        ],
        ["NAME", "PROVIDER", "MODEL", "SLOTS", "REPO", "ID"],
    )


@agent.command()
@click.argument("name")
@common_options
def show(name: str, as_json: bool, workspace: str | None) -> None:
    """Show agent NAME (name or id)."""
    from hangar.core.durations import format_duration

    a = request(calls.AGENT_GET, api.AgentGetParams(workspace_id=workspace, agent=name))
    if as_json:
        emit_json(a)
        return
    kv(
        [
            ("name", a.name),
            ("id", a.id),
            ("provider", a.provider),
            ("command", shlex.join(a.command) if a.command else None),
            ("model", a.model),
            ("max concurrent", a.max_concurrent_tasks),
            ("repo", a.repo_path),
            ("max runtime", format_duration(a.max_runtime_ms) if a.max_runtime_ms else "default"),
            (
                "inactivity",
                format_duration(a.inactivity_timeout_ms) if a.inactivity_timeout_ms else "default",
            ),
            ("instructions", a.instructions),
            ("created", fmt_time(a.created_at)),
        ]
    )
