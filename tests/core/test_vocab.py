"""The shared vocabularies: each word is its string, everywhere it travels."""

from __future__ import annotations

import json

import msgspec

from hangar.core.fsm import TaskStatus
from hangar.core.vocab import (
    PRIORITY_MAX,
    PRIORITY_MIN,
    IssueState,
    MessageKind,
    Provider,
    ScreenState,
    SessionStatus,
    WaitMode,
)


def test_words() -> None:
    assert [s.value for s in IssueState] == ["open", "in_progress", "done", "cancelled"]
    assert [k.value for k in MessageKind] == [
        "agent",
        "thinking",
        "tool_call",
        "tool_result",
        "error",
    ]
    assert [p.value for p in Provider] == ["claude", "codex", "gemini", "command"]
    assert [s.value for s in ScreenState] == ["busy", "idle", "waiting_for_input", "exited"]
    assert [m.value for m in WaitMode] == ["none", "any", "all"]
    assert "active" in set(SessionStatus)
    assert (PRIORITY_MIN, PRIORITY_MAX) == (0, 3)


def test_a_member_is_its_string() -> None:
    state = IssueState.IN_PROGRESS
    assert state == "in_progress" and str(state) == "in_progress" and f"{state}" == "in_progress"
    assert {"in_progress": 1}[state] == 1  # finds plain-string keys, and the reverse
    assert json.dumps({"s": state}) == '{"s": "in_progress"}'
    assert msgspec.json.encode(state) == b'"in_progress"'
    assert msgspec.json.decode(b'"done"', type=IssueState) is IssueState.DONE


def test_the_store_schema_spells_the_same_words() -> None:
    from hangar.store import schema

    assert tuple(IssueState) == schema.ISSUE_STATES
    assert tuple(MessageKind) == schema.MESSAGE_KINDS
    assert tuple(SessionStatus) == schema.SESSION_STATUSES
    assert tuple(TaskStatus) == schema.TASK_STATUSES
