"""The wire of beads sync: ``hangar/beads_reconcile``'s params and report (docs/beads.md).

Every pair or orphan the reconcile looks at ends in exactly one of the stats' outcomes, so
``scanned == updated + adopted + deleted + in_sync + skipped + errors``.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec

from hangar.proto.api import Result, WorkspaceScoped

__all__ = [
    "MAX_LABELS",
    "AdoptedIssue",
    "BeadsLabel",
    "BeadsReconcileParams",
    "BeadsReconcileResult",
    "ReconcileConflict",
    "ReconcileStats",
    "Winner",
]

MAX_LABELS: Final = 16
#: a bd label: bd takes a comma-separated list, so a label holds no comma
BeadsLabel = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^,\s]+$")]
#: who won a pair whose sides disagree; ``none`` when the pair cannot be judged (a side gone)
Winner = Literal["bd", "hangar", "none"]


class BeadsReconcileParams(WorkspaceScoped, kw_only=True):
    """``workspace_id``: where adopted bd issues are filed (absent: the default workspace).
    Pairs are reconciled in every workspace: the bd database is the daemon's."""

    #: report what would be done, write nothing (neither Hangar nor bd)
    dry_run: bool = False
    #: only bd issues carrying all of these too (``hangar-v1`` always)
    labels: Annotated[list[BeadsLabel], msgspec.Meta(max_length=MAX_LABELS)] = msgspec.field(
        default_factory=list
    )


class ReconcileStats(Result, kw_only=True):
    scanned: int = 0
    #: pairs brought together by writing one side
    updated: int = 0
    #: tagged bd issues with no pair that became Hangar issues (or found theirs again)
    adopted: int = 0
    #: pairs whose two sides are both gone
    deleted: int = 0
    in_sync: int = 0
    #: pairs that cannot be judged: one side gone, or an orphan that duplicates a pair
    skipped: int = 0
    #: pairs that could not be brought together: bd failed, or bd cannot reopen
    errors: int = 0


class ReconcileConflict(Result, kw_only=True):
    """A pair whose sides disagreed (or that was skipped), and what was done about it."""

    hangar_id: str | None = None
    bd_id: str
    #: None when the Hangar issue is gone
    hangar_state: str | None = None
    #: None when the bd issue is gone
    bd_status: str | None = None
    winner: Winner
    #: what was done (or, in a dry run, would be)
    action: str
    #: why it could not be done
    error: str | None = None


class AdoptedIssue(Result, kw_only=True):
    bd_id: str
    #: the Hangar issue it is paired with now (None in a dry run when a new one would be made)
    hangar_id: str | None = None
    title: str
    #: the bd issue named a Hangar issue that exists (``hangar:<id>``): the pair was restored
    relinked: bool = False


class BeadsReconcileResult(Result, kw_only=True):
    dry_run: bool
    #: the bd database reconciled against, and the bd that answered
    beads_dir: str
    bd_version: str
    stats: ReconcileStats
    conflicts: list[ReconcileConflict] = msgspec.field(default_factory=list)
    adopted: list[AdoptedIssue] = msgspec.field(default_factory=list)
