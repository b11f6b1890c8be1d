"""hangar templates list | show | use"""

from __future__ import annotations

import shlex

import click

from hangar.cli.common import common_options, emit_json, kv, request, table, usage_error
from hangar.core.vocab import Provider
from hangar.proto import api, calls
from hangar.proto import skills as sk


@click.group()
def templates() -> None:
    """Ten curated agents (a reviewer, a planner, a bug fixer, …) with their skills."""


@templates.command("list")
@common_options
def list_(as_json: bool, workspace: str | None) -> None:
    """List the templates, in their canonical order."""
    rows = request(calls.TEMPLATES_LIST, api.Empty()).templates
    if as_json:
        emit_json(rows)
        return
    table(
        [(t.name, ", ".join(t.skills), t.description) for t in rows],
        ["NAME", "SKILLS", "DESCRIPTION"],
    )


@templates.command()
@click.argument("name")
@common_options
def show(name: str, as_json: bool, workspace: str | None) -> None:
    """Show template NAME: what it is for, its skills and its instructions."""
    t = request(calls.TEMPLATE_GET, sk.TemplateGetParams(name=name))
    if as_json:
        emit_json(t)
        return
    kv(
        [
            ("name", t.name),
            ("description", t.description),
            ("purpose", t.purpose),
            ("skills", ", ".join(t.skills)),
        ]
    )
    click.echo()
    click.echo(t.instructions.rstrip())


@templates.command()
@click.argument("name")
@click.option("--agent-name", metavar="NAME", help="The new agent's name (default: NAME).")
@click.option(
    "--provider",
    type=click.Choice([p.value for p in Provider]),
    default=Provider.CLAUDE.value,
    show_default=True,
    help="Which CLI runs the agent's work.",
)
@click.option(
    "--command",
    "command",
    metavar="ARGV",
    help='For "command": the argv to run. For the others: replaces the CLI executable.',
)
@click.option("--model", help="Model name passed to the provider.")
@click.option("--repo", type=click.Path(), help="Default git repository for its tasks.")
@common_options
def use(
    name: str,
    agent_name: str | None,
    provider: str,
    command: str | None,
    model: str | None,
    repo: str | None,
    as_json: bool,
    workspace: str | None,
) -> None:
    """Create an agent from template NAME with its skills attached (one step; the bundled
    skills it needs are synced first if the workspace lacks them)."""
    import os

    try:
        argv = shlex.split(command) if command is not None else None
    except ValueError as exc:
        raise usage_error(f"--command: {exc}") from None
    params = sk.TemplateUseParams(
        workspace_id=workspace,
        name=name,
        agent_name=agent_name,
        provider=provider,  # type: ignore[arg-type]  # click.Choice checked it
        command=argv,
        model=model,
        repo_path=os.path.abspath(repo) if repo else None,
    )
    res = request(calls.TEMPLATE_USE, params)
    from hangar.cli.full_access import warn  # its runs will have full access (once)

    warn(res.agent.provider)
    if as_json:
        emit_json(res)
        return
    click.echo(f"created agent {res.agent.name} ({res.agent.id}) from template {name}")
    if res.imported:
        click.echo(f"synced from the bundled toolkit: {', '.join(res.imported)}")
    click.echo(f"skills: {', '.join(res.skills)}")
    click.echo(f'next: hangar issue create --title "…" --assign {res.agent.name}')
