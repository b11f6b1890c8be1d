"""The wire of an issue's thread: the comment row, adding one, reading a page of them.

A thread reads like a conversation, oldest first: a page is the newest comments before a
cursor, oldest first, so the first page is the end of the thread and ``next_before`` walks
back through older ones.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

from hangar.core.comments import COMMENT_MAX_BYTES
from hangar.proto.api import Result, WorkspaceScoped
from hangar.proto.rows import Row

__all__ = [
    "COMMENTS_PAGE_DEFAULT",
    "COMMENTS_PAGE_MAX",
    "COMMENT_MAX_BYTES",
    "CommentAddParams",
    "CommentRow",
    "CommentsListParams",
    "CommentsListResult",
    "CommentsPage",
]

#: comments per page when the caller names no limit, and at most (200 of 64 KiB fit a frame)
COMMENTS_PAGE_DEFAULT: Final = 50
COMMENTS_PAGE_MAX: Final = 200
CommentsPage = Annotated[int, msgspec.Meta(ge=1, le=COMMENTS_PAGE_MAX)]


class CommentRow(Row, kw_only=True):
    id: str
    issue_id: str
    #: ``member:<id>`` (a person) or ``agent:<id>``
    author: str
    #: markdown
    body: str
    created_at: int


class CommentAddParams(WorkspaceScoped, kw_only=True):
    issue_id: str
    #: markdown, not blank, at most ``COMMENT_MAX_BYTES`` of UTF-8
    body: str
    #: an agent's name or id to write as; absent: the workspace's owner (you)
    author: str | None = None


class CommentsListParams(WorkspaceScoped, kw_only=True):
    issue_id: str
    #: absent: ``COMMENTS_PAGE_DEFAULT``
    limit: CommentsPage | None = None
    #: a comment id: the page ends just before it (the previous page's ``next_before``)
    before: str | None = None


class CommentsListResult(Result, kw_only=True):
    #: oldest first (newest last)
    comments: list[CommentRow]
    #: set when older comments exist: pass it as ``before`` for them
    next_before: str | None = None
