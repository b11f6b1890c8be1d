"""The store's errors. Callers catch these, never a driver's exception."""

from __future__ import annotations

from hangar.core.fsm import FinalizeOutcome


class StoreError(Exception):
    """Base of every error the store raises on purpose."""


class UnsupportedDatabaseURL(StoreError, ValueError):
    """The URL names a backend or driver the store does not speak."""

    def __init__(self, url: str, why: str) -> None:
        super().__init__(f"unsupported database URL {url!r}: {why}")
        self.url = url


class InvalidValue(StoreError, ValueError):
    """An argument the schema would refuse (bad actor ref, priority out of range, ...)."""


class NotFound(StoreError, LookupError):
    """No such row in the caller's workspace (a foreign id looks exactly like a missing one)."""

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} not found: {ident}")
        self.kind = kind
        self.ident = ident


class Conflict(StoreError):
    """A uniqueness guard refused the write (duplicate slug/name, second pending task, ...)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AlreadyRetried(Conflict):
    """A task has a retry already: retrying it again would fork a second attempt."""

    def __init__(self, task_id: str, child_id: str) -> None:
        super().__init__(f"task {task_id} was already retried as {child_id}; retry that one")
        self.task_id = task_id
        self.child_id = child_id


class Blocked(Conflict):
    """A task may not start for an issue that is blocked (core/dependencies.py): its last
    blocker's finalize queues it once every blocker is done."""

    def __init__(self, issue_id: str, reason: str) -> None:
        super().__init__(f"issue {issue_id} is {reason}; its task is queued when that ends done")
        self.issue_id = issue_id
        self.reason = reason


class InvalidTransition(StoreError):
    """A by-hand lifecycle operation the FSM refuses; ``outcome`` says what was found."""

    def __init__(self, outcome: FinalizeOutcome) -> None:
        found = outcome.found.value if outcome.found is not None else "missing"
        super().__init__(f"cannot move task from {found} to {outcome.target.value}")
        self.outcome = outcome
