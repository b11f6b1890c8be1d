"""hangar workspace list | create | use | default | rename"""

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


@workspace.command()
@click.argument("slug")
@click.argument("new_slug")
@click.option("--name", help="A new display name too (default: kept, or the new slug).")
@common_options
def rename(
    slug: str, new_slug: str, name: str | None, as_json: bool, workspace: str | None
) -> None:
    """Rename workspace SLUG to NEW_SLUG; everything in it stays."""
    params = api.WorkspaceRenameParams(workspace_id=slug, slug=new_slug, name=name)
    row = request(calls.WORKSPACE_RENAME, params)
    if as_json:
        emit_json(row)
    else:
        click.echo(f"renamed workspace {slug} to {row.slug} ({row.id})")


@workspace.command("default")
@click.argument("slug")
@common_options
def default_(slug: str, as_json: bool, workspace: str | None) -> None:
    """Make SLUG the default workspace (the same as `use`)."""
    row = request(calls.WORKSPACE_USE, api.WorkspaceUseParams(workspace_id=slug))
    if as_json:
        emit_json(row)
    else:
        click.echo(f"default workspace is now {row.slug}")
