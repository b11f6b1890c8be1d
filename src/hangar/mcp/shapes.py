"""The published output shapes (docs/sessions.md#mcp-server), built from daemon rows.

The daemon speaks snake_case with ms-since-epoch timestamps; the published tool surface
uses camelCase workspaces with ISO 8601 times, and (for ``workspace_idle``) PascalCase. Clients
parse these keys, so they are spelled exactly as published and only ever added to.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from hangar.proto import api
from hangar.proto import autopilots as ap
from hangar.proto.rows import SessionRow

__all__ = [
    "autopilot",
    "autopilot_detail",
    "idle",
    "iso_in_zone",
    "iso_ms",
    "read",
    "wait_idle",
    "workspace",
]


def iso_ms(ms: int | None) -> str | None:
    """``1717587000123`` → ``"2024-06-05T11:30:00.123Z"`` (UTC, millisecond precision)."""
    if ms is None:
        return None
    when = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def workspace(result: api.SessionView | SessionRow) -> dict[str, Any]:
    """A workspace object from a ``SessionView`` (``{session, state}``) or a bare ``SessionRow``."""
    if isinstance(result, api.SessionView):
        row, state = result.session, result.state
    else:
        row, state = result, None
    out: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "status": row.status,
        "branch": row.branch,
        "tmuxSession": row.tmux_session,
        "createdAt": iso_ms(row.created_at),
        "worktreePath": row.worktree_path,
        # additions to the published shape
        "baseBranch": row.base_branch,
        "repoPath": row.repo_path,
        "meta": row.meta,
    }
    if state is not None:
        out["state"] = state
    return out


def idle(result: api.SessionIdleResult) -> dict[str, Any]:
    """``workspace_idle`` is PascalCase, as originally published; ``State`` is ours."""
    return {
        "Idle": result.idle,
        "LastChangedAt": result.last_changed_at,
        "ElapsedMs": result.elapsed_ms,
        "ThresholdMs": result.threshold_ms,
        "State": result.state,
    }


def wait_idle(result: api.SessionWaitIdleResult) -> dict[str, Any]:
    return {
        "idle": result.idle,
        "timed_out": result.timed_out,
        "last_changed_at": result.last_changed_at,
        "elapsed_ms": result.elapsed_ms,
        "threshold_ms": result.threshold_ms,
        "state": result.state,
    }


def read(result: api.SessionReadResult, *, since: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"content": result.content, "captured_at": result.captured_at}
    if since:
        out["next_line"] = result.next_line
    return out


def iso_in_zone(ms: int | None, zone: str) -> str | None:
    """``1717650000000, "Europe/Berlin"`` → ``"2024-06-06T07:00:00+02:00"``: a fire time as the
    autopilot's own zone reads it (UTC if the zone is unknown here)."""
    if ms is None:
        return None
    try:
        tz: dt.tzinfo = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = dt.UTC
    return dt.datetime.fromtimestamp(ms / 1000, tz).isoformat(timespec="seconds")


def autopilot(row: ap.AutopilotRow) -> dict[str, Any]:
    """The row as the daemon sent it, plus ``next_fire``: ``next_tick_at`` in its zone."""
    out: dict[str, Any] = msgspec.to_builtins(row)
    out["next_fire"] = iso_in_zone(row.next_tick_at, row.timezone)
    return out


def autopilot_detail(detail: ap.AutopilotDetail) -> dict[str, Any]:
    """``{autopilot, upcoming, recent_runs}`` with the upcoming fires as ISO 8601 in its zone."""
    zone = detail.autopilot.timezone
    return {
        "autopilot": autopilot(detail.autopilot),
        "upcoming": [iso_in_zone(ms, zone) for ms in detail.upcoming],
        "recent_runs": msgspec.to_builtins(detail.recent_runs),
    }
