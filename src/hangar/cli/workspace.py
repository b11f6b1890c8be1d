"""hangar workspace list | create | use"""

from __future__ import annotations

import click

from hangar.cli.common import common_options, emit_json, fmt_time, request, table
from hangar.proto import api, calls


@click.group()
def workspace() -> None:
    """Workspaces are tenants: every agent, issue and task belongs to one."""


@workspace.command("list")
@common_options
def list_(as_json: bool, workspace: str | None) -> None:
    """List workspaces; * marks the default."""
    rows = request(calls.WORKSPACE_LIST, api.Empty()).workspaces
    if as_json:
        emit_json(rows)
        return
    table(
        [("*" if w.is_default else "", w.slug, w.name, w.id, fmt_time(w.created_at)) for w in rows],
        ["", "SLUG", "NAME", "ID", "CREATED"],
    )


@workspace.command()
@click.argument("slug")
@click.option("--name", help="Display name (default: the slug).")
@common_options
def create(slug: str, name: str | None, as_json: bool, workspace: str | None) -> None:
    """Create workspace SLUG (lowercase letters, digits and hyphens)."""
    row = request(calls.WORKSPACE_CREATE, api.WorkspaceCreateParams(slug=slug, name=name))
    if as_json:
        emit_json(row)
    else:
        click.echo(f"created workspace {row.slug} ({row.id})")


@workspace.command()
@click.argument("slug")
@common_options
def use(slug: str, as_json: bool, workspace: str | None) -> None:
    """Make SLUG the default workspace for every front end."""
    row = request(calls.WORKSPACE_USE, api.WorkspaceUseParams(workspace_id=slug))
    if as_json:
        emit_json(row)
    else:
        click.echo(f"default workspace is now {row.slug}")
