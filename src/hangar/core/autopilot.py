"""The autopilot rules, pure: which planned time a due autopilot fires, when it fires next,
when a fire is skipped, and when failures pause it (docs/autopilots.md).

The scheduler's state is the store's ``next_tick_at`` alone, so these functions take what is
stored and the time now and say what to write; nothing here keeps a timer.
"""

from __future__ import annotations

from dataclasses import dataclass

from hangar.core.cron import Schedule

__all__ = [
    "AUTO_PAUSE_FAILURE_SHARE",
    "AUTO_PAUSE_MIN_RUNS",
    "AUTO_PAUSE_WINDOW_MS",
    "LATE_LIMIT_MS",
    "FirePlan",
    "auto_pause_reason",
    "plan_fire",
    "skip_reason",
]

#: a fire more than this late (the daemon was down, the laptop asleep) is not run
LATE_LIMIT_MS = 5 * 60 * 1000
#: an autopilot whose last 7 days hold at least 50 finished runs, 90 % of them failed,
#: disables itself
AUTO_PAUSE_WINDOW_MS = 7 * 24 * 3600 * 1000
AUTO_PAUSE_MIN_RUNS = 50
AUTO_PAUSE_FAILURE_SHARE = 0.9


@dataclass(frozen=True)
class FirePlan:
    """What to do with a due autopilot at ``now``.

    ``fire_at``: the planned time to fire (the latest one missed; missed fires collapse to
    it), or None when it is too late to fire (``late_by_ms`` says by how much).
    ``next_tick_at``: the next planned time, always after ``now``.
    """

    fire_at: int | None
    next_tick_at: int
    late_by_ms: int = 0


def plan_fire(schedule: Schedule, now_ms: int) -> FirePlan:
    """The plan for an autopilot whose stored ``next_tick_at`` has come (is ``<= now``)."""
    latest = schedule.latest_at_or_before(now_ms)
    if latest is None:  # pragma: no cover - a due autopilot has a fire time at or before now
        return FirePlan(None, schedule.next_after(now_ms))
    # the cadence is kept from the planned time, not from now: no drift, no replay storm
    following = schedule.next_after(latest)
    late = now_ms - latest
    if late > LATE_LIMIT_MS:
        return FirePlan(None, following, late)
    return FirePlan(latest, following, late)


def skip_reason(unfinished_runs: int, max_concurrent_runs: int) -> str | None:
    """Why a fire is skipped, or None when it may run."""
    if unfinished_runs < max_concurrent_runs:
        return None
    runs = "run is" if unfinished_runs == 1 else "runs are"
    return f"{unfinished_runs} {runs} still unfinished (max_concurrent_runs {max_concurrent_runs})"


def auto_pause_reason(finished: int, failed: int) -> str | None:
    """Why an autopilot should disable itself, given its finished and failed runs of the
    last 7 days, or None."""
    if finished < AUTO_PAUSE_MIN_RUNS or failed < AUTO_PAUSE_FAILURE_SHARE * finished:
        return None
    share = round(100 * failed / finished)
    return (
        f"disabled by Hangar: {failed} of its {finished} runs in the last 7 days failed "
        f"({share} %); fix the cause, then enable it again"
    )
