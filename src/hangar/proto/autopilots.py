"""Autopilots on the wire: their rows, the params and results of their methods, and the
two events (docs/autopilots.md)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from hangar.proto.api import AgentArg, Params, Result, WorkspaceScoped
from hangar.proto.rows import Row

__all__ = [
    "AUTOPILOT_NAME_MAX",
    "INSTRUCTIONS_MAX",
    "RUNS_PAGE_MAX",
    "AutopilotCreateParams",
    "AutopilotDeleteResult",
    "AutopilotDetail",
    "AutopilotMode",
    "AutopilotRef",
    "AutopilotRow",
    "AutopilotRunResult",
    "AutopilotRunRow",
    "AutopilotRunsParams",
    "AutopilotRunsResult",
    "AutopilotUpdateParams",
    "AutopilotsListResult",
    "CronPreviewParams",
    "CronPreviewResult",
]

AUTOPILOT_NAME_MAX = 64
#: the instructions become the prompt (mode run) or the issue's description (mode issue)
INSTRUCTIONS_MAX = 24 * 1024
RUNS_PAGE_MAX = 1_000
#: how many unfinished runs an autopilot may hold before a fire is skipped
MAX_CONCURRENT_RUNS_LIMIT = 100

AutopilotMode = Literal["issue", "run"]
AutopilotName = Annotated[str, msgspec.Meta(min_length=1, max_length=AUTOPILOT_NAME_MAX)]
CronExpr = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
ZoneName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Instructions = Annotated[str, msgspec.Meta(max_length=INSTRUCTIONS_MAX)]
ConcurrentRuns = Annotated[int, msgspec.Meta(ge=1, le=MAX_CONCURRENT_RUNS_LIMIT)]
RunsPage = Annotated[int, msgspec.Meta(ge=1, le=RUNS_PAGE_MAX)]
PreviewCount = Annotated[int, msgspec.Meta(ge=1, le=50)]


class AutopilotRow(Row, kw_only=True):
    id: str
    workspace_id: str
    name: str
    agent_id: str
    agent_name: str = ""
    instructions: str = ""
    cron_expr: str
    timezone: str = "UTC"
    mode: str = "run"
    max_concurrent_runs: int = 1
    enabled: bool = True
    #: the next planned fire (epoch ms); None while disabled or when it cannot fire
    next_tick_at: int | None = None
    #: why it was disabled by Hangar itself (auto-pause after failures), else None
    disabled_reason: str | None = None
    #: runs started and not yet finished
    unfinished_runs: int = 0
    created_at: int
    updated_at: int | None = None


class AutopilotRunRow(Row, kw_only=True):
    id: str
    autopilot_id: str
    #: the schedule's planned time of this fire (a manual run: when it was asked for)
    planned_at: int | None = None
    started_at: int
    completed_at: int | None = None
    status: str  # running | completed | failed | cancelled
    trigger: str = "schedule"  # schedule | manual
    #: the run's latest task (a retry is a new task of the same run)
    task_id: str | None = None
    task_status: str | None = None
    #: mode issue: the issue this fire filed
    issue_id: str | None = None


class AutopilotRef(WorkspaceScoped, kw_only=True):
    #: name or id
    autopilot: AutopilotName


class AutopilotCreateParams(WorkspaceScoped, kw_only=True):
    name: AutopilotName
    agent: AgentArg
    cron: CronExpr
    instructions: Instructions
    timezone: ZoneName = "UTC"
    max_concurrent_runs: ConcurrentRuns = 1
    mode: AutopilotMode = "run"
    enabled: bool = True


class AutopilotUpdateParams(AutopilotRef, kw_only=True):
    """Only the fields given change. A new schedule, zone or ``enabled=True`` plans the next
    fire from now (missed fires are not replayed)."""

    name: AutopilotName | None = None
    agent: AgentArg | None = None
    cron: CronExpr | None = None
    timezone: ZoneName | None = None
    instructions: Instructions | None = None
    max_concurrent_runs: ConcurrentRuns | None = None
    mode: AutopilotMode | None = None
    enabled: bool | None = None


class AutopilotsListResult(Result, kw_only=True):
    autopilots: list[AutopilotRow]


class AutopilotDetail(Result, kw_only=True):
    autopilot: AutopilotRow
    #: the next fire times in the autopilot's zone, as epoch ms (empty while disabled)
    upcoming: list[int]
    recent_runs: list[AutopilotRunRow]


class AutopilotRunsParams(AutopilotRef, kw_only=True):
    limit: RunsPage = 20


class AutopilotRunsResult(Result, kw_only=True):
    #: newest first
    runs: list[AutopilotRunRow]


class AutopilotRunResult(Result, kw_only=True):
    #: ``running``: a run and its task were made; ``skipped``: unfinished runs reached the cap
    status: Literal["running", "skipped"]
    run: AutopilotRunRow | None = None
    task_id: str | None = None
    issue_id: str | None = None
    #: why it was skipped, in words
    reason: str | None = None


class AutopilotDeleteResult(Result, kw_only=True):
    id: str
    name: str
    #: runs kept as history
    runs_kept: int


class CronPreviewParams(Params, kw_only=True):
    cron: CronExpr
    timezone: ZoneName = "UTC"
    count: PreviewCount = 5


class CronPreviewResult(Result, kw_only=True):
    """Either the next fire times, or why the expression or zone does not parse."""

    upcoming: list[int] = msgspec.field(default_factory=list)
    error: str | None = None
