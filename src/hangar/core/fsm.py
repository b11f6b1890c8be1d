"""The task lifecycle: one table of legal edges that every write path is checked against."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class TaskStatus(enum.StrEnum):
    QUEUED = "queued"
    DISPATCHED = "dispatched"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL

    @property
    def is_pending(self) -> bool:
        return self in PENDING


PENDING = frozenset({TaskStatus.QUEUED, TaskStatus.DISPATCHED})
ACTIVE = frozenset({TaskStatus.DISPATCHED, TaskStatus.RUNNING})
TERMINAL = frozenset({TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELLED})

_Q, _D, _R = TaskStatus.QUEUED, TaskStatus.DISPATCHED, TaskStatus.RUNNING
_DONE, _F, _C = TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELLED

#: The 7 original edges plus three the store services need (docs/lifecycle.md#transitions):
#: dispatched → failed (sweeper, setup failure), queued|dispatched → cancelled (task cancel).
TRANSITIONS: frozenset[tuple[TaskStatus, TaskStatus]] = frozenset(
    {
        (_Q, _D),  # claim
        (_D, _R),  # start confirmed: the process is spawned
        (_D, _Q),  # reclaim of a stale dispatch
        (_R, _DONE),  # complete
        (_R, _F),  # fail
        (_R, _C),  # cancel a run
        (_Q, _F),  # queued-TTL sweep
        (_D, _F),  # dispatch TTL or setup failure
        (_Q, _C),  # cancel before claim
        (_D, _C),  # cancel before start
    }
)


class FsmError(ValueError):
    """Base of the lifecycle errors."""


class UnknownState(FsmError):
    def __init__(self, token: str) -> None:
        super().__init__(f"unknown task status {token!r}")
        self.token = token


@dataclass(frozen=True)
class IllegalTransition(FsmError):
    from_status: TaskStatus
    to_status: TaskStatus

    def __str__(self) -> str:
        return f"illegal transition {self.from_status} -> {self.to_status}"


def parse_status(token: str) -> TaskStatus:
    try:
        return TaskStatus(token)
    except ValueError:
        raise UnknownState(token) from None


def is_legal(from_status: TaskStatus, to_status: TaskStatus) -> bool:
    return (from_status, to_status) in TRANSITIONS


def check_transition(from_status: TaskStatus, to_status: TaskStatus) -> None:
    if not is_legal(from_status, to_status):
        raise IllegalTransition(from_status, to_status)


def sources_of(to_status: TaskStatus) -> frozenset[TaskStatus]:
    """Every status with a legal edge into ``to_status``: the WHERE of a conditional UPDATE."""
    return frozenset(src for src, dst in TRANSITIONS if dst is to_status)


class FinalizeKind(enum.StrEnum):
    """How an idempotent transition resolved (docs/lifecycle.md#finalize)."""

    TRANSITIONED = "transitioned"
    ALREADY_TERMINAL = "already_terminal"  # the row already holds this terminal target
    ALREADY_STARTED = "already_started"  # start found the row running
    TERMINAL_MISMATCH = "terminal_mismatch"  # another terminal state won; never overwritten
    ILLEGAL_STATE = "illegal_state"  # non-terminal and not a legal source
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class FinalizeOutcome:
    kind: FinalizeKind
    found: TaskStatus | None
    target: TaskStatus

    @property
    def ok(self) -> bool:
        """True when the row now holds the target (by this call or an earlier one)."""
        return self.kind in (
            FinalizeKind.TRANSITIONED,
            FinalizeKind.ALREADY_TERMINAL,
            FinalizeKind.ALREADY_STARTED,
        )

    @property
    def wrote(self) -> bool:
        return self.kind is FinalizeKind.TRANSITIONED


def resolve_noop(found: TaskStatus | None, target: TaskStatus) -> FinalizeOutcome:
    """Step 2 of finalize: the conditional UPDATE hit 0 rows; classify what is there instead."""
    if found is None:
        kind = FinalizeKind.NOT_FOUND
    elif found is target and target.is_terminal:
        kind = FinalizeKind.ALREADY_TERMINAL
    elif found is TaskStatus.RUNNING and target is TaskStatus.RUNNING:
        kind = FinalizeKind.ALREADY_STARTED
    elif found.is_terminal:
        kind = FinalizeKind.TERMINAL_MISMATCH
    else:
        kind = FinalizeKind.ILLEGAL_STATE
    return FinalizeOutcome(kind, found, target)
