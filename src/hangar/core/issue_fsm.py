"""The moves a person may make an issue take by hand (docs/lifecycle.md#editing-an-issue).

The lifecycle moves an issue as its tasks run (open → in_progress → done, back to open);
these are the edges of an edit. A closed issue (done or cancelled) only reopens; staying in
the same state is no move at all and always allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from hangar.core.vocab import IssueState

__all__ = ["CLOSED", "MOVES", "IssueMoveRefused", "check_move", "parse_state", "sources_of"]

_OPEN, _WIP = IssueState.OPEN, IssueState.IN_PROGRESS
_DONE, _CANCELLED = IssueState.DONE, IssueState.CANCELLED

#: done and cancelled: an issue in them is closed (its tasks are cancelled on the way in)
CLOSED: Final = frozenset({_DONE, _CANCELLED})

#: state → the states an edit may move it to
MOVES: Final[Mapping[IssueState, frozenset[IssueState]]] = MappingProxyType(
    {
        _OPEN: frozenset({_WIP, _DONE, _CANCELLED}),
        _WIP: frozenset({_OPEN, _DONE, _CANCELLED}),
        _DONE: frozenset({_OPEN}),
        _CANCELLED: frozenset({_OPEN}),
    }
)

_ORDER = tuple(IssueState)


class IssueMoveRefused(ValueError):
    """A state an issue may not be moved to from where it is; names the ones it may."""

    def __init__(self, issue_id: str, found: IssueState, target: IssueState) -> None:
        self.issue_id, self.found, self.target = issue_id, found, target
        self.allowed = tuple(s for s in _ORDER if s in MOVES[found])
        words = ", ".join(self.allowed)
        hint = " (reopen it first)" if found in CLOSED else ""
        super().__init__(
            f"cannot move issue {issue_id} from {found.value} to {target.value}: "
            f"from {found.value} it can go to {words}{hint}"
        )


def parse_state(token: str) -> IssueState:
    try:
        return IssueState(token)
    except ValueError:
        words = ", ".join(_ORDER)
        raise ValueError(f"issue state must be one of {words}, got {token!r}") from None


def sources_of(target: IssueState) -> frozenset[IssueState]:
    """The states an edit may move an issue to ``target`` from."""
    return frozenset(s for s, to in MOVES.items() if target in to)


def check_move(issue_id: str, found: IssueState, target: IssueState) -> None:
    if found is not target and target not in MOVES[found]:
        raise IssueMoveRefused(issue_id, found, target)
