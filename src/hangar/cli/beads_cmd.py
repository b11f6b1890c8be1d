"""hangar beads reconcile [--dry-run] [--label L]... [--json]

The daemon mirrors issues into a beads (``bd``) tracker once ``beads.dir`` is set
(``hangar config set beads.dir PATH``); ``reconcile`` brings every pair together at once and
says what it did (docs/beads.md). It exits 1 when a pair could not be brought together.
"""

from __future__ import annotations

import click

from hangar.cli.common import common_options, emit_json, request, table, usage_error
from hangar.cli.errors import ERROR
from hangar.proto import beads as wire
from hangar.proto import calls


@click.group()
def beads() -> None:
    """Mirror issues to a beads (bd) tracker: set it up with `hangar config set beads.dir PATH`.

    The daemon creates a bd issue (label hangar-v1) for each issue and closes it when the
    issue is done or cancelled; an issue closed in bd becomes done in Hangar.
    """


@beads.command()
@click.option("--dry-run", is_flag=True, help="Say what would change; write nothing.")
@click.option(
    "--label",
    "labels",
    multiple=True,
    metavar="L",
    help="Only bd issues that also carry label L (repeatable).",
)
@common_options
@click.pass_context
def reconcile(
    ctx: click.Context,
    dry_run: bool,
    labels: tuple[str, ...],
    as_json: bool,
    workspace: str | None,
) -> None:
    """Bring Hangar and bd together now.

    The last writer of each pair wins; tagged bd issues with no pair are adopted into the
    workspace; pairs gone on both sides are forgotten. Exits 1 when a pair could not be
    brought together (bd cannot reopen an issue, or bd failed)."""
    for label in labels:
        if not label or any(ch == "," or ch.isspace() for ch in label):
            raise usage_error(f"--label {label!r}: a bd label is one word, without commas")
    params = wire.BeadsReconcileParams(workspace_id=workspace, dry_run=dry_run, labels=list(labels))
    res = request(calls.BEADS_RECONCILE, params)
    if as_json:
        emit_json(res)
    else:
        _print(res)
    if res.stats.errors:
        ctx.exit(ERROR)


def _print(res: wire.BeadsReconcileResult) -> None:
    s = res.stats
    head = f"beads: {res.beads_dir} (bd {res.bd_version})"
    click.echo(head + ("  dry run: nothing was written" if res.dry_run else ""))
    click.echo(
        f"scanned {s.scanned}  updated {s.updated}  adopted {s.adopted}  deleted {s.deleted}  "
        f"in sync {s.in_sync}  skipped {s.skipped}  errors {s.errors}"
    )
    if res.conflicts:
        click.echo("")
        table(
            [
                (
                    c.hangar_id or "-",
                    c.bd_id,
                    c.hangar_state or "(gone)",
                    c.bd_status or "(gone)",
                    c.winner,
                    c.action + (f": {c.error}" if c.error else ""),
                )
                for c in res.conflicts
            ],
            ["ISSUE", "BD", "HANGAR", "BD STATUS", "WINNER", "ACTION"],
        )
    if res.adopted:
        click.echo("")
        table(
            [
                (a.bd_id, a.hangar_id or "(new)", "relinked" if a.relinked else "adopted", a.title)
                for a in res.adopted
            ],
            ["BD", "ISSUE", "HOW", "TITLE"],
        )
