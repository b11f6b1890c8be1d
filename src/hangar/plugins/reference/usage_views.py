"""Views over a ``UsageData`` snapshot: totals per day, week, model or project.

Pure and clock-free: the caller passes ``since`` (already resolved from ``--days``), so the
same snapshot always yields the same view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from hangar.plugins.reference.usage_data import UsageRow

__all__ = [
    "VIEWS",
    "ViewName",
    "ViewRow",
    "filter_since",
    "group",
    "money",
    "total",
    "week_start",
]

ViewName = Literal["daily", "weekly", "models", "projects"]
VIEWS: tuple[ViewName, ...] = ("daily", "weekly", "models", "projects")


@dataclass(frozen=True, slots=True)
class ViewRow:
    """Summed usage of one group. ``cost_usd`` sums the priced rows only; ``None`` when none
    were priced. ``unpriced_tokens`` says how many tokens that sum leaves out."""

    key: str
    input_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    total_tokens: int = 0
    requests: int = 0
    cost_usd: float | None = None
    unpriced_tokens: int = 0


def money(cost: float | None) -> str:
    """``$1,234.57``; ``<$0.01`` for a non-zero cost that would round to nothing; ``-``
    for no price."""
    if cost is None:
        return "-"
    if 0 < cost < 0.005:
        return "<$0.01"
    return f"${cost:,.2f}"


def week_start(day: str) -> str:
    """The Monday of the ISO week holding ``day`` (both ``YYYY-MM-DD``)."""
    d = date.fromisoformat(day)
    return (d - timedelta(days=d.weekday())).isoformat()


_KEYS: dict[ViewName, Callable[[UsageRow], str]] = {
    "daily": lambda r: r.day,
    "weekly": lambda r: week_start(r.day),
    "models": lambda r: r.model,
    "projects": lambda r: r.project,
}


def filter_since(rows: Iterable[UsageRow], since: date | None) -> list[UsageRow]:
    if since is None:
        return list(rows)
    first = since.isoformat()  # ISO dates compare correctly as strings
    return [r for r in rows if r.day >= first]


def _sum(key: str, rows: list[UsageRow]) -> ViewRow:
    priced = [r.cost_usd for r in rows if r.cost_usd is not None]
    return ViewRow(
        key=key,
        input_tokens=sum(r.input_tokens for r in rows),
        cache_creation_tokens=sum(r.cache_creation_tokens for r in rows),
        cache_read_tokens=sum(r.cache_read_tokens for r in rows),
        output_tokens=sum(r.output_tokens for r in rows),
        reasoning_tokens=sum(r.reasoning_tokens for r in rows),
        total_tokens=sum(r.total_tokens for r in rows),
        requests=sum(r.requests for r in rows),
        cost_usd=round(sum(priced), 6) if priced else None,
        unpriced_tokens=sum(r.total_tokens for r in rows if r.cost_usd is None),
    )


def group(rows: Iterable[UsageRow], view: ViewName) -> list[ViewRow]:
    """Days and weeks in calendar order; models and projects by total tokens, largest first."""
    keyed: dict[str, list[UsageRow]] = {}
    key_of = _KEYS[view]
    for row in rows:
        keyed.setdefault(key_of(row), []).append(row)
    out = [_sum(k, keyed[k]) for k in sorted(keyed)]
    if view in ("models", "projects"):
        out.sort(key=lambda v: (-v.total_tokens, v.key))
    return out


def total(rows: Iterable[UsageRow]) -> ViewRow:
    return _sum("total", list(rows))
