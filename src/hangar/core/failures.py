"""Why a task failed, and which reasons earn an automatic retry."""

from __future__ import annotations

import enum


class FailureReason(enum.StrEnum):
    TIMEOUT = "timeout"  # a TTL sweep, the runner's max runtime or its inactivity watchdog
    AGENT_ERROR = "agent_error"  # non-zero exit or an agent-reported error
    RUNTIME_OFFLINE = "runtime_offline"  # exit 75 (EX_TEMPFAIL) or the runtime went away
    RUNTIME_RECOVERY = "runtime_recovery"  # orphaned by a daemon restart
    USER_CANCEL = "user_cancel"
    SPAWN_ERROR = "spawn_error"  # the agent could not be started (CLI missing, bad repo)
    UNKNOWN = "unknown"


RETRYABLE_REASONS = frozenset({FailureReason.RUNTIME_OFFLINE, FailureReason.RUNTIME_RECOVERY})
DEFAULT_MAX_ATTEMPTS = 2
EX_TEMPFAIL = 75


def is_retryable(reason: FailureReason) -> bool:
    return reason in RETRYABLE_REASONS


def should_retry(reason: FailureReason, attempt: int, max_attempts: int) -> bool:
    """A child is spawned only for a retryable reason and while attempts remain."""
    return is_retryable(reason) and attempt < max_attempts
