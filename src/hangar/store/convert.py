"""Between table rows and wire rows: JSON columns, actor refs, and the row mappers."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import RowMapping

from hangar.proto.rows import (
    AgentRow,
    IssueRow,
    RuntimeRow,
    TaskMessageRow,
    TaskRow,
    TaskUsageRow,
    WorkspaceRow,
)
from hangar.store.errors import InvalidValue

ACTOR_TYPES = ("member", "agent")


def dump_json(value: object) -> str:
    return msgspec.json.encode(value).decode()


def load_json(text: str | None) -> Any:
    return None if text is None else msgspec.json.decode(text)


def parse_actor(ref: str) -> tuple[str, str]:
    """``"agent:<id>"`` / ``"member:<id>"`` → (type, id)."""
    kind, sep, ident = ref.partition(":")
    if not sep or kind not in ACTOR_TYPES or not ident:
        raise InvalidValue(f"actor ref must be 'member:<id>' or 'agent:<id>', got {ref!r}")
    return kind, ident


def format_actor(kind: str | None, ident: str | None) -> str | None:
    if kind is None or ident is None:
        return None
    return f"{kind}:{ident}"


def workspace_row(m: RowMapping, *, default_id: str | None) -> WorkspaceRow:
    return WorkspaceRow(
        id=m["id"],
        slug=m["slug"],
        name=m["name"],
        created_at=m["created_at"],
        is_default=m["id"] == default_id,
    )


def runtime_row(m: RowMapping) -> RuntimeRow:
    return RuntimeRow(
        id=m["id"],
        workspace_id=m["workspace_id"],
        daemon_id=m["daemon_id"],
        provider=m["provider"],
        runtime_mode=m["runtime_mode"],
        status=m["status"],
        last_seen_at=m["last_seen_at"],
    )


def agent_row(m: RowMapping) -> AgentRow:
    return AgentRow(
        id=m["id"],
        workspace_id=m["workspace_id"],
        name=m["name"],
        runtime_id=m["runtime_id"],
        provider=m["provider"],
        command=load_json(m["command"]),
        model=m["model"],
        instructions=m["instructions"] or "",
        max_concurrent_tasks=m["max_concurrent_tasks"],
        repo_path=m["repo_path"],
        max_runtime_ms=m["max_runtime_ms"],
        inactivity_timeout_ms=m["inactivity_timeout_ms"],
        visibility=m["visibility"],
        owner_id=m["owner_id"],
        created_at=m["created_at"],
    )


def issue_row(m: RowMapping) -> IssueRow:
    creator = format_actor(m["creator_type"], m["creator_id"])
    assert creator is not None  # NOT NULL columns
    return IssueRow(
        id=m["id"],
        workspace_id=m["workspace_id"],
        title=m["title"],
        description=m["description"],
        state=m["state"],
        priority=m["priority"],
        repo_path=m["repo_path"],
        assignee=format_actor(m["assignee_type"], m["assignee_id"]),
        creator=creator,
        created_at=m["created_at"],
    )


def task_row(m: RowMapping) -> TaskRow:
    return TaskRow(
        id=m["id"],
        workspace_id=m["workspace_id"],
        runtime_id=m["runtime_id"],
        agent_id=m["agent_id"],
        issue_id=m["issue_id"],
        status=m["status"],
        priority=m["priority"],
        attempt=m["attempt"],
        max_attempts=m["max_attempts"],
        parent_task_id=m["parent_task_id"],
        failure_reason=m["failure_reason"],
        result=load_json(m["result"]),
        session_id=m["session_id"],
        work_dir=m["work_dir"],
        autopilot_run_id=m["autopilot_run_id"],
        created_at=m["created_at"],
        dispatched_at=m["dispatched_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        cancel_requested_at=m["cancel_requested_at"],
    )


def message_row(m: RowMapping) -> TaskMessageRow:
    return TaskMessageRow(
        task_id=m["task_id"],
        seq=m["seq"],
        kind=m["kind"],
        body=m["body"],
        created_at=m["created_at"],
    )


def usage_row(m: RowMapping) -> TaskUsageRow:
    return TaskUsageRow(
        task_id=m["task_id"],
        model=m["model"],
        input_tokens=m["input_tokens"],
        output_tokens=m["output_tokens"],
        cache_read_tokens=m["cache_read_tokens"],
        cache_creation_tokens=m["cache_creation_tokens"],
        cost_usd=m["cost_usd"],
    )
