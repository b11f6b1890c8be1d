"""hangar issue block | unblock, and how ``issue show`` prints an issue's dependencies.

An issue that waits for others is blocked while any of them is not done: assigning it
queues nothing, and the last blocker's finalize queues its task. A blocker that ends
failed or cancelled leaves it blocked, saying so, until the blocker is retried or the edge
removed here (docs/lifecycle.md#dependencies).
"""

from __future__ import annotations

import click

from hangar.cli.common import common_options, emit_json, request, status, table
from hangar.proto import api, calls
from hangar.proto import dependencies as dp
from hangar.proto.rows import DependencyRow

__all__ = ["DEPS_COMMANDS", "parse_ids", "print_links"]

#: a standing that needs a person: the blocker ended without done
_STANDING_COLOURS = {
    "done": "green",
    "pending": "yellow",
    "failed": "red",
    "cancelled": "red",
    "deleted": "red",
}


def parse_ids(values: tuple[str, ...]) -> list[str]:
    """``--blocked-by A,B --blocked-by C`` → [A, B, C]; an empty id is a usage error."""
    ids = [part.strip() for value in values for part in value.split(",")]
    if any(not i for i in ids):
        raise click.BadParameter("an empty issue id (check the commas)", param_hint="--blocked-by")
    return list(dict.fromkeys(ids))


def _said(res: dp.IssueBlockResult, as_json: bool, text: str) -> None:
    if as_json:
        emit_json(res)
        return
    click.echo(text)
    if res.issue.blocked:
        click.echo(f"issue {res.issue.id} is {res.issue.blocked}")
    elif res.task is not None:
        click.echo(f"queued task {res.task.id}  (follow: hangar task log {res.task.id} -f)")
    else:
        click.echo(f"issue {res.issue.id} is not blocked")


@click.command()
@click.argument("issue_id")
@click.option(
    "--by",
    "blocker",
    required=True,
    metavar="OTHER",
    help="The issue it waits for (same workspace).",
)
@common_options
def block(issue_id: str, blocker: str, as_json: bool, workspace: str | None) -> None:
    """Make ISSUE_ID wait for OTHER: its task is queued only once OTHER (and every other
    blocker) is done.

    A loop (A waits for B waits for A) and an issue waiting for itself are refused, naming
    the loop; so is an issue whose task is already queued or running (cancel it first).
    """
    params = dp.IssueBlockParams(workspace_id=workspace, issue_id=issue_id, by=blocker)
    res = request(calls.ISSUE_BLOCK, params)
    verb = "now waits for" if res.changed else "already waited for"
    _said(res, as_json, f"issue {res.issue.id} {verb} {blocker}")


@click.command()
@click.argument("issue_id")
@click.option(
    "--by",
    "blocker",
    required=True,
    metavar="OTHER",
    help="The issue it should no longer wait for (may be gone already).",
)
@common_options
def unblock(issue_id: str, blocker: str, as_json: bool, workspace: str | None) -> None:
    """Stop ISSUE_ID waiting for OTHER. When that was its last unfinished blocker and it is
    assigned to an agent, its task is queued at once.

    This is how a dependent left blocked by a failed, cancelled or deleted blocker goes on
    without it (retrying the blocker is the other way).
    """
    params = dp.IssueBlockParams(workspace_id=workspace, issue_id=issue_id, by=blocker)
    res = request(calls.ISSUE_UNBLOCK, params)
    verb = "no longer waits for" if res.changed else "did not wait for"
    _said(res, as_json, f"issue {res.issue.id} {verb} {blocker}")


def _standing(link: DependencyRow) -> str:
    return click.style(link.standing, fg=_STANDING_COLOURS.get(link.standing))


def print_links(res: api.IssueDetail) -> None:
    """The blockers and dependents of ``issue show``, each with its state and standing."""
    for heading, links in (("BLOCKED BY", res.blockers), ("BLOCKS", res.dependents)):
        if not links:
            continue
        click.echo("")
        table(
            [
                (
                    link.issue_id,
                    status(link.state) if link.state else "(deleted)",
                    _standing(link),
                    (link.title or "")[:60],
                )
                for link in links
            ],
            [heading, "STATE", "STANDING", "TITLE"],
        )


#: the commands ``cli/issue.py`` adds to its group
DEPS_COMMANDS = (block, unblock)
