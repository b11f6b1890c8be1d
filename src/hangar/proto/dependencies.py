"""The wire of issue dependencies: adding and removing a "waits for" edge.

An issue's blockers and dependents, each with its state, come with ``hangar/issue_get``
(``IssueDetail.blockers``, ``.dependents``); whether an issue is blocked, and why, is
``IssueRow.blocked`` in every issue answer (docs/lifecycle.md#dependencies).
"""

from __future__ import annotations

from hangar.proto.api import Result, WorkspaceScoped
from hangar.proto.rows import IssueRow, TaskRow

__all__ = ["IssueBlockParams", "IssueBlockResult"]


class IssueBlockParams(WorkspaceScoped, kw_only=True):
    #: the issue that waits (or no longer waits)
    issue_id: str
    #: the issue it waits for: of the same workspace (another's answers like a missing one)
    by: str


class IssueBlockResult(Result, kw_only=True):
    #: the waiting issue as it is now, with ``blocked`` saying why it still waits
    issue: IssueRow
    #: false when the edge was already there (block) or was not (unblock)
    changed: bool
    #: the task queued because this unblock removed its last unfinished blocker
    task: TaskRow | None = None
