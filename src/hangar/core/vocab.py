"""The words every layer shares: issue states, transcript lanes, session states, providers.

Each is a ``StrEnum``, so a member is its string: it compares equal to the text, encodes on the
wire and binds in SQL as that text, and a store or client that still holds plain strings
agrees with it. The task status and its transition table live in ``core.fsm``, failure
reasons in ``core.failures``.
"""

from __future__ import annotations

import enum

__all__ = [
    "MAX_DURATION_MS",
    "MAX_NOTIFY_COMMAND",
    "MAX_NOTIFY_URL",
    "MAX_SECRET_BYTES",
    "MAX_SECRET_NAME",
    "PRIORITY_MAX",
    "PRIORITY_MIN",
    "IssueState",
    "MessageKind",
    "Provider",
    "ScreenState",
    "SessionStatus",
    "WaitMode",
]

#: Issue and task priority: 0 (shown as P3, lowest) to 3 (P0, highest); higher runs first.
PRIORITY_MIN, PRIORITY_MAX = 0, 3


class IssueState(enum.StrEnum):
    """Where an issue stands. Its tasks move it: the first claim makes it ``in_progress``."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class MessageKind(enum.StrEnum):
    """The five lanes of a task's transcript."""

    AGENT = "agent"
    THINKING = "thinking"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    ERROR = "error"


class Provider(enum.StrEnum):
    """The agent CLIs an agent can run; ``command`` runs any argv."""

    CLAUDE = "claude"
    CODEX = "codex"
    GEMINI = "gemini"
    COMMAND = "command"


class SessionStatus(enum.StrEnum):
    """An interactive session's row. ``creating`` and ``resuming`` hold a slot of the
    repository's cap while the daemon works; boot recovery settles what a crash left there."""

    CREATING = "creating"
    RESUMING = "resuming"
    ACTIVE = "active"
    ARCHIVED = "archived"
    ORPHANED = "orphaned"


class ScreenState(enum.StrEnum):
    """What a session's terminal shows, sampled: anything but ``busy`` has settled."""

    BUSY = "busy"
    IDLE = "idle"
    WAITING_FOR_INPUT = "waiting_for_input"
    EXITED = "exited"


class WaitMode(enum.StrEnum):
    """How a session list waits: not at all, for any active session to settle, or for all."""

    NONE = "none"
    ANY = "any"
    ALL = "all"


# --- limits the wire checks at its boundary (here so proto needs no heavier core module) ---

#: the longest duration anything accepts: a century; anything longer is a typo
MAX_DURATION_MS = 36_500 * 86_400_000
#: a stored secret's name (an environment variable's name)
MAX_SECRET_NAME = 128
#: an environment variable's value: far more than any API key, far less than argv's limit
MAX_SECRET_BYTES = 64 * 1024

#: notification channels (core/notify.py): a webhook's URL and a command's text, at most
MAX_NOTIFY_URL = 2048
MAX_NOTIFY_COMMAND = 4096
