"""hangar skills sync | list | show | attach | detach | remove"""

from __future__ import annotations

import click

from hangar.cli.common import common_options, emit_json, fmt_time, kv, request, table
from hangar.cli.errors import ERROR, CliError
from hangar.proto import calls
from hangar.proto import skills as sk

#: where `skills sync` looks when no --source is given (then: the toolkit bundled with Hangar)
TOOLKIT_ENV = "AINB_TOOLKIT_SKILLS_DIR"


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"


def _clip(text: str, width: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


@click.group()
def skills() -> None:
    """Agent Skills: sync a directory of them, attach them to agents.

    An agent's skills are copied for each of its runs to where its CLI loads them."""


@skills.command()
@click.option(
    "--source",
    type=click.Path(file_okay=False),
    help=f"Directory whose subdirectories are skills (default: ${TOOLKIT_ENV}, else the "
    "toolkit bundled with Hangar).",
)
@click.option("--dry-run", is_flag=True, help="Check and say what would change; write nothing.")
@common_options
def sync(source: str | None, dry_run: bool, as_json: bool, workspace: str | None) -> None:
    """Import every skill of a directory, all or nothing; running it again changes nothing."""
    import os

    chosen = source or os.environ.get(TOOLKIT_ENV) or None
    params = sk.SkillsSyncParams(
        workspace_id=workspace,
        source_path=os.path.abspath(chosen) if chosen else None,
        dry_run=dry_run,
    )
    res = request(calls.SKILLS_SYNC, params)
    if as_json:
        emit_json(res)
    else:
        for item in res.skills:
            files = f"{item.file_count} file{'s' if item.file_count != 1 else ''}"
            click.echo(f"{item.status:<9}  {item.name}  ({files}, {_size(item.total_bytes)})")
        for skipped in res.skipped:
            click.echo(f"skipped {skipped.skill}: {skipped.reason}", err=True)
        for error in res.errors:
            click.echo(f"refused {error.skill}: {error.reason}", err=True)
        if not res.skills and not res.errors:
            click.echo(f"no skills in {res.source}", err=True)
        elif res.dry_run and not res.errors:
            click.echo("dry run: nothing written", err=True)
    if res.errors:
        n = len(res.errors)
        raise CliError(
            f"nothing written: {n} skill{'s' if n != 1 else ''} refused (all or nothing)", ERROR
        )


@skills.command("list")
@click.option("--agent", metavar="AGENT", help="Only the skills attached to this agent.")
@common_options
def list_(agent: str | None, as_json: bool, workspace: str | None) -> None:
    """List the workspace's skills."""
    rows = request(calls.SKILLS_LIST, sk.SkillsListParams(workspace_id=workspace, agent=agent))
    if as_json:
        emit_json(rows.skills)
        return
    table(
        [
            (s.name, s.file_count, _size(s.total_bytes), s.used, _clip(s.description))
            for s in rows.skills
        ],
        ["NAME", "FILES", "SIZE", "AGENTS", "DESCRIPTION"],
    )


@skills.command()
@click.argument("name")
@common_options
def show(name: str, as_json: bool, workspace: str | None) -> None:
    """Show skill NAME (name or id): its front matter, files, agents and body."""
    d = request(calls.SKILL_GET, sk.SkillGetParams(workspace_id=workspace, skill=name))
    if as_json:
        emit_json(d)
        return
    s = d.skill
    kv(
        [
            ("name", s.name),
            ("id", s.id),
            ("description", s.description),
            ("license", s.license),
            ("compatibility", s.compatibility),
            ("metadata", ", ".join(f"{k}={v}" for k, v in s.metadata.items())),
            ("allowed tools", s.allowed_tools),
            ("agents", ", ".join(d.agents)),
            ("source", s.source),
            ("updated", fmt_time(s.updated_at)),
        ]
    )
    click.echo()
    for f in d.files:
        mode = "x" if f.executable else "-"
        click.echo(f"  {mode} {_size(f.size):>10}  {f.path}")
    if d.body.strip():
        click.echo()
        click.echo(d.body.strip())


@skills.command()
@click.argument("name")
@click.option("--agent", required=True, metavar="AGENT", help="Agent name or id.")
@common_options
def attach(name: str, agent: str, as_json: bool, workspace: str | None) -> None:
    """Attach skill NAME to an agent: its next runs get it."""
    params = sk.SkillAttachParams(workspace_id=workspace, skill=name, agent=agent)
    res = request(calls.SKILL_ATTACH, params)
    if as_json:
        emit_json(res)
    elif res.changed:
        click.echo(f"attached {res.skill} to {res.agent}")
    else:
        click.echo(f"{res.skill} was already attached to {res.agent}")


@skills.command()
@click.argument("name")
@click.option("--agent", required=True, metavar="AGENT", help="Agent name or id.")
@common_options
def detach(name: str, agent: str, as_json: bool, workspace: str | None) -> None:
    """Detach skill NAME from an agent."""
    params = sk.SkillAttachParams(workspace_id=workspace, skill=name, agent=agent)
    res = request(calls.SKILL_DETACH, params)
    if as_json:
        emit_json(res)
    elif res.changed:
        click.echo(f"detached {res.skill} from {res.agent}")
    else:
        click.echo(f"{res.skill} was not attached to {res.agent}")


@skills.command()
@click.argument("name")
@common_options
def remove(name: str, as_json: bool, workspace: str | None) -> None:
    """Remove skill NAME from the workspace (and from every agent it is attached to)."""
    res = request(calls.SKILL_REMOVE, sk.SkillRef(workspace_id=workspace, skill=name))
    if as_json:
        emit_json(res)
        return
    agents = f" (detached from {res.detached} agent{'s' if res.detached != 1 else ''})"
    click.echo(f"removed {res.skill}{agents if res.detached else ''}")
