"""Beads sync, the IO-free part (docs/beads.md): the label and reference that tie a bd issue
to Hangar, how states and priorities map, how timestamps compare, and who wins a pair.

A pair is in sync when both sides agree on *closed*: bd ``closed`` with Hangar ``done`` or
``cancelled``, any other bd status with Hangar ``open`` or ``in_progress``. When they
disagree, the last writer wins: bd when its ``updated_at`` is later than the pair's
``last_synced`` (the bd time the pair was last brought together), Hangar otherwise. Hangar
winning with Hangar open and bd closed cannot be carried out: bd has no reopen.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Final

from hangar.core.vocab import PRIORITY_MAX, PRIORITY_MIN, IssueState

__all__ = [
    "BD_CLOSED",
    "BD_GONE",
    "EXTERNAL_REF_PREFIX",
    "SYNC_LABEL",
    "Verdict",
    "bd_newer",
    "decide",
    "external_ref",
    "format_synced",
    "from_bd_priority",
    "hangar_closed",
    "hangar_id_of_ref",
    "inbound_state",
    "parse_time",
    "to_bd_priority",
]

#: every bd issue Hangar made or adopts carries it; the poll and reconcile list only these
SYNC_LABEL: Final = "hangar-v1"
#: ``--external-ref hangar:<issue id>`` on each bd issue Hangar made
EXTERNAL_REF_PREFIX: Final = "hangar:"
BD_CLOSED: Final = "closed"
#: statuses of a bd issue that was deleted (bd keeps a tombstone for a while)
BD_GONE: Final = frozenset({"tombstone", "deleted"})

_CLOSED = frozenset({IssueState.DONE, IssueState.CANCELLED})
#: bd's priorities run 0 (critical) to 4 (backlog); Hangar's 0 (P3, lowest) to 3 (P0)
_BD_PRIORITY_MAX = 4


class Verdict(enum.StrEnum):
    IN_SYNC = "in_sync"
    #: bd changed since the last sync: Hangar's state follows it
    BD_WINS = "bd"
    #: Hangar closed, bd open: bd is closed
    HANGAR_WINS = "hangar"
    #: Hangar open, bd closed, and Hangar the last writer: bd cannot be reopened
    UNRECONCILABLE = "unreconcilable"


def external_ref(hangar_id: str) -> str:
    return f"{EXTERNAL_REF_PREFIX}{hangar_id}"


def hangar_id_of_ref(ref: str | None) -> str | None:
    """The Hangar issue id in ``hangar:<id>``, or None for any other reference."""
    if not ref or not ref.startswith(EXTERNAL_REF_PREFIX):
        return None
    ident = ref[len(EXTERNAL_REF_PREFIX) :].strip()
    return ident or None


def hangar_closed(state: str) -> bool:
    return state in _CLOSED


def inbound_state(bd_status: str) -> IssueState:
    """The Hangar state a bd status asks for: closed → done, anything else → open."""
    return IssueState.DONE if bd_status == BD_CLOSED else IssueState.OPEN


def to_bd_priority(priority: int) -> int:
    """Hangar 3 (P0) → bd 0 … Hangar 0 (P3) → bd 3."""
    return PRIORITY_MAX - max(PRIORITY_MIN, min(PRIORITY_MAX, priority))


def from_bd_priority(priority: int | None) -> int:
    """bd 0 → Hangar 3 … bd 3 and 4 (backlog) → Hangar 0; absent → Hangar 1 (bd's 2)."""
    if priority is None:
        return PRIORITY_MAX - 2
    return max(PRIORITY_MIN, PRIORITY_MAX - max(0, min(_BD_PRIORITY_MAX, priority)))


def parse_time(text: str) -> dt.datetime:
    """An RFC 3339 / ISO-8601 time as an aware UTC datetime, cut to the second (the precision
    of ``last_synced``). A time without a zone is taken as UTC. ``ValueError`` if it is none."""
    moment = dt.datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def format_synced(moment: dt.datetime) -> str:
    """``last_synced``'s form: ISO-8601 UTC to the second, ``2026-01-01T00:00:01Z``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bd_newer(updated_at: str | None, last_synced: str) -> bool:
    """Whether bd wrote the issue after the pair was last synced. An unreadable or missing
    ``updated_at`` is not newer: Hangar keeps its state."""
    if not updated_at:
        return False
    try:
        return parse_time(updated_at) > parse_time(last_synced)
    except ValueError:
        return False


def decide(hangar_state: str, bd_status: str, *, bd_is_newer: bool) -> Verdict:
    """Who wins a mapped pair (module docstring)."""
    if hangar_closed(hangar_state) == (bd_status == BD_CLOSED):
        return Verdict.IN_SYNC
    if bd_is_newer:
        return Verdict.BD_WINS
    return Verdict.HANGAR_WINS if hangar_closed(hangar_state) else Verdict.UNRECONCILABLE
