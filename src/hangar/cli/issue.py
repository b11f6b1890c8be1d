"""hangar issue create | list | show"""

from __future__ import annotations

import os

import click

from hangar.cli.common import call, common_options, emit_json, fmt_time, kv, status, table


@click.group()
def issue() -> None:
    """Issues are units of work; assigning one to an agent queues a task."""


@issue.command()
@click.option("--title", required=True, help="What needs doing (one line).")
@click.option("--description", "-d", help="Details; the agent sees them in its prompt.")
@click.option("--assign", metavar="AGENT", help="Agent name or id: queues a task at once.")
@click.option(
    "--repo", type=click.Path(), help="Git repository to work in (overrides the agent's)."
)
@click.option(
    "--priority",
    type=click.IntRange(0, 3),
    default=0,
    show_default=True,
    help="0 (P3, lowest) to 3 (P0, highest).",
)
@common_options
def create(
    title: str,
    description: str | None,
    assign: str | None,
    repo: str | None,
    priority: int,
    as_json: bool,
    workspace: str | None,
) -> None:
    """File an issue, optionally assigning it to an agent."""
    res = call(
        "hangar/issue_create",
        {
            "workspace_id": workspace,
            "title": title,
            "description": description,
            "assign": assign,
            "repo_path": os.path.abspath(repo) if repo else None,
            "priority": priority,
        },
    )
    if as_json:
        emit_json(res)
        return
    click.echo(f"created issue {res['issue']['id']}")
    if res.get("task"):
        click.echo(
            f"queued task {res['task']['id']}  (follow: hangar task log {res['task']['id']} -f)"
        )


@issue.command("list")
@click.option("--state", type=click.Choice(["open", "in_progress", "done", "cancelled"]))
@common_options
def list_(state: str | None, as_json: bool, workspace: str | None) -> None:
    """List issues, newest first."""
    rows = call("hangar/issues_list", {"workspace_id": workspace, "state": state})["issues"]
    if as_json:
        emit_json(rows)
        return
    table(
        [
            (
                i["id"],
                status(i["state"]),
                f"P{3 - i['priority']}",
                i["assignee"] or "",
                i["title"][:60],
                fmt_time(i["created_at"]),
            )
            for i in rows
        ],
        ["ID", "STATE", "PRI", "ASSIGNEE", "TITLE", "CREATED"],
    )


@issue.command()
@click.argument("issue_id")
@common_options
def show(issue_id: str, as_json: bool, workspace: str | None) -> None:
    """Show an issue and its tasks."""
    res = call("hangar/issue_get", {"workspace_id": workspace, "issue_id": issue_id})
    if as_json:
        emit_json(res)
        return
    i = res["issue"]
    kv(
        [
            ("id", i["id"]),
            ("title", i["title"]),
            ("state", status(i["state"])),
            ("priority", f"P{3 - i['priority']}"),
            ("assignee", i["assignee"]),
            ("repo", i["repo_path"]),
            ("created", fmt_time(i["created_at"])),
        ]
    )
    if i.get("description"):
        click.echo("\n" + i["description"])
    if res["tasks"]:
        click.echo("")
        table(
            [
                (
                    t["id"],
                    status(t["status"]),
                    t["attempt"],
                    t["failure_reason"] or "",
                    (t.get("result") or {}).get("pr_url", ""),
                )
                for t in res["tasks"]
            ],
            ["TASK", "STATUS", "ATTEMPT", "REASON", "PR"],
        )
