"""Events pushed as ``hangar/event`` notifications, internally tagged on the key ``event``
(not ``kind``: task_message has its own ``kind`` field)."""

from __future__ import annotations

import msgspec

from hangar.proto.autopilots import AutopilotRow
from hangar.proto.comments import CommentRow
from hangar.proto.rows import IssueRow, SessionRow

__all__ = [
    "AnyEvent",
    "AutopilotChanged",
    "AutopilotRunChanged",
    "CommentCreated",
    "DependencyStranded",
    "Event",
    "IssueCreated",
    "IssueUpdated",
    "SessionStateChanged",
    "SkillsChanged",
    "TaskFinished",
    "TaskMessage",
    "TaskProgress",
    "TaskQueued",
    "TaskStarted",
    "decode_event",
    "encode_event",
]


class Event(msgspec.Struct, kw_only=True, tag_field="event"):
    pass


class IssueCreated(Event, kw_only=True, tag="issue_created"):
    issue: IssueRow


class IssueUpdated(Event, kw_only=True, tag="issue_updated"):
    issue: IssueRow


class TaskQueued(Event, kw_only=True, tag="task_queued"):
    task_id: str
    issue_id: str | None
    agent_id: str


class TaskStarted(Event, kw_only=True, tag="task_started"):
    task_id: str
    started_at: int


class TaskMessage(Event, kw_only=True, tag="task_message"):
    task_id: str
    seq: int
    kind: str
    body: str


class TaskProgress(Event, kw_only=True, tag="task_progress"):
    task_id: str
    tool_calls: int
    elapsed_ms: int


class TaskFinished(Event, kw_only=True, tag="task_finished"):
    task_id: str
    result: str  # success | failure | cancelled
    status: str
    failure_reason: str | None = None
    ended_at: int


class AutopilotChanged(Event, kw_only=True, tag="autopilot_changed"):
    """Created, edited, enabled, disabled (by a person or by the failure rule) or deleted."""

    autopilot: AutopilotRow
    deleted: bool = False


class AutopilotRunChanged(Event, kw_only=True, tag="autopilot_run_changed"):
    """A fire made a run (``running``), was skipped (``skipped``: no rows were written), or a
    run finished (``completed`` / ``failed`` / ``cancelled``)."""

    autopilot_id: str
    autopilot_name: str = ""
    status: str
    run_id: str | None = None
    planned_at: int | None = None
    task_id: str | None = None
    reason: str | None = None


class SkillsChanged(Event, kw_only=True, tag="skills_changed"):
    """Skills were synced (``synced``: those created or updated) or removed, or attached
    to or detached from an agent (``agent_id`` set)."""

    change: str  # synced | removed | attached | detached
    skills: list[str]
    agent_id: str | None = None


class CommentCreated(Event, kw_only=True, tag="comment_created"):
    """A comment was added to an issue's thread: by a person, or an agent's result."""

    comment: CommentRow


class DependencyStranded(Event, kw_only=True, tag="dependency_stranded"):
    """A blocker ended without done (failed, cancelled, closed, deleted): ``issue_id`` stays
    blocked until the blocker is retried or the edge removed (core/dependencies.py)."""

    issue_id: str
    issue_title: str
    blocker_id: str
    #: failed | cancelled | deleted (``core.dependencies.BlockerStanding``)
    standing: str


class SessionStateChanged(Event, kw_only=True, tag="session_state_changed"):
    """An interactive session began to need the user: it waits for input, its agent exited,
    or its tmux session vanished (orphaned). Sent once per change, not per screen sample."""

    session: SessionRow
    #: waiting_for_input | exited | orphaned
    state: str


AnyEvent = (
    IssueCreated
    | IssueUpdated
    | TaskQueued
    | TaskStarted
    | TaskMessage
    | TaskProgress
    | TaskFinished
    | AutopilotChanged
    | AutopilotRunChanged
    | SkillsChanged
    | CommentCreated
    | DependencyStranded
    | SessionStateChanged
)


def encode_event(event: Event) -> bytes:
    return msgspec.json.encode(event)


_DECODER: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)


def decode_event(data: bytes) -> AnyEvent:
    return _DECODER.decode(data)
