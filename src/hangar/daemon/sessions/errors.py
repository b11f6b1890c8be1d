"""One error type for every way a session operation can be refused, with a stable ``kind``.

The kind travels to clients as ``error.data.kind`` so an orchestrator can branch on it;
the message is the one line a person reads."""

from __future__ import annotations

from typing import Literal

Kind = Literal[
    "not_found",
    "not_active",
    "invalid_name",
    "invalid_params",
    "name_taken",
    "capacity_reached",
    "delete_not_confirmed",
    "dirty_worktree",
    "unpushed_commits",
    "invalid_text",
    "capture_failed",
    "agent_not_found",
    "launch_failed",
    "git_error",
    "tmux_error",
]

#: kinds that mean "the request is wrong" (-32602) rather than "the state forbids it" (-32011)
INVALID_KINDS = frozenset(
    {"invalid_name", "invalid_params", "invalid_text", "delete_not_confirmed", "agent_not_found"}
)


class SessionError(Exception):
    def __init__(self, kind: Kind, message: str) -> None:
        super().__init__(message)
        self.kind: Kind = kind
        self.message = message
