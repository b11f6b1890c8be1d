"""List replies that always fit a frame: long texts clipped in list views (whole in the
``*_get`` calls), and a page cut short, with a cursor, once it nears the byte budget."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

import msgspec

from hangar.proto.rows import IssueRow, TaskRow

__all__ = [
    "LIST_REPLY_BUDGET",
    "LIST_TEXT_CHARS",
    "clip_issue",
    "clip_task",
    "fit",
    "within_budget",
]

#: a reply must fit a 16 MiB frame; what is not a row (envelope, cursor) is small
LIST_REPLY_BUDGET = 8 * 1024 * 1024
#: how much of a long text a list row carries
LIST_TEXT_CHARS = 1000


class _HasId(Protocol):
    id: str


R = TypeVar("R", bound=_HasId)


def clip_text(text: str | None) -> str | None:
    if text is None or len(text) <= LIST_TEXT_CHARS:
        return text
    return f"{text[:LIST_TEXT_CHARS]} … [{len(text) - LIST_TEXT_CHARS} more characters]"


def clip_issue(issue: IssueRow) -> IssueRow:
    clipped = clip_text(issue.description)
    if clipped is issue.description:
        return issue
    return msgspec.structs.replace(issue, description=clipped)


def clip_task(task: TaskRow) -> TaskRow:
    result = task.result
    if not result:
        return task
    clipped: dict[str, Any] = {
        key: clip_text(value) if isinstance(value, str) else value for key, value in result.items()
    }
    if all(clipped[k] is result[k] for k in result):
        return task
    return msgspec.structs.replace(task, result=clipped)


def fit(rows: Sequence[R], *, limit: int, clip: Callable[[R], R]) -> tuple[list[R], str | None]:
    """The first ``limit`` of ``rows`` (fetched one past the limit, to know if more follow),
    clipped, and as many as fit the budget; the cursor is set when more follow."""
    page, cut = within_budget([clip(row) for row in rows[:limit]])
    more = cut or len(rows) > limit
    return page, page[-1].id if more and page else None


T = TypeVar("T")


def within_budget(rows: Sequence[T]) -> tuple[list[T], bool]:
    """The leading rows whose encoding fits the budget (at least one), and whether any
    were left out."""
    size = 0
    for n, row in enumerate(rows):
        size += len(msgspec.json.encode(row)) + 1
        if n and size > LIST_REPLY_BUDGET:
            return list(rows[:n]), True
    return list(rows), False
