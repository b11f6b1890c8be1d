"""Tasks: list, get, transcript, and the transitions a person may ask for (cancel, retry,
a board move). The transitions themselves are the lifecycle's."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hangar.daemon.lifecycle import Lifecycle
from hangar.daemon.rpc.common import Routes, not_found, resolve_workspace, routes
from hangar.daemon.rpc.pages import clip_task, fit, within_budget
from hangar.daemon.tasks.retention import task_branch, tidy
from hangar.proto import api, calls
from hangar.proto.rows import TaskRow, WorkspaceRow
from hangar.store import Store

if TYPE_CHECKING:
    from hangar.daemon.rpc.server import Connection

__all__ = ["LIST_PAGE", "MESSAGES_PAGE", "TaskRoutes"]

#: replies must fit a frame (16 MiB): lists are paged, never unbounded; the params' types
#: cap what a caller may ask for
LIST_PAGE = 1000
MESSAGES_PAGE = 1000


class TaskRoutes:
    def __init__(self, store: Store, lifecycle: Lifecycle) -> None:
        self.store = store
        self.lifecycle = lifecycle

    def routes(self) -> Routes:
        return routes(
            (calls.TASKS_LIST, self.list),
            (calls.TASK_GET, self.get),
            (calls.TASK_MESSAGES, self.messages),
            (calls.TASK_CANCEL, self.cancel),
            (calls.TASK_RETRY, self.retry),
            (calls.TASK_TRANSITION, self.transition),
            (calls.TASK_CLEAN, self.clean),
        )

    async def _task(self, ws: WorkspaceRow, task_id: str) -> TaskRow:
        task = await self.store.task_get(ws.id, task_id)
        if task is None:
            raise not_found("task", task_id)
        return task

    async def list(self, conn: Connection, p: api.TasksListParams) -> api.TasksListResult:
        ws = await resolve_workspace(self.store, p.workspace_id)
        status = None if p.status is None else p.status.value
        limit = p.limit or LIST_PAGE
        rows = await self.store.task_list(
            ws.id, status=status, issue_id=p.issue_id, limit=limit + 1, before=p.before
        )
        page, next_before = fit(rows, limit=limit, clip=clip_task)
        return api.TasksListResult(tasks=page, next_before=next_before)

    async def get(self, conn: Connection, p: api.TaskIdParams) -> api.TaskDetail:
        ws = await resolve_workspace(self.store, p.workspace_id)
        task = await self._task(ws, p.task_id)
        usage = await self.store.usage_list(ws.id, task.id)
        count = await self.store.messages_count(ws.id, task.id)
        return api.TaskDetail(task=task, usage=usage, message_count=count)

    async def messages(self, conn: Connection, p: api.TaskMessagesParams) -> api.TaskMessagesResult:
        ws = await resolve_workspace(self.store, p.workspace_id)
        task = await self._task(ws, p.task_id)
        limit = p.limit or MESSAGES_PAGE
        rows = await self.store.messages_list(ws.id, task.id, after_seq=p.after_seq, limit=limit)
        page, more = within_budget(rows)
        return api.TaskMessagesResult(messages=page, status=task.status, more=more)

    async def cancel(self, conn: Connection, p: api.TaskIdParams) -> TaskRow:
        """Answers once the run is stopped and cancelled (or, run elsewhere, marked)."""
        ws = await resolve_workspace(self.store, p.workspace_id)
        task = await self._task(ws, p.task_id)
        await self.lifecycle.cancel(ws.id, task.id)
        return await self._task(ws, task.id)

    async def retry(self, conn: Connection, p: api.TaskIdParams) -> TaskRow:
        ws = await resolve_workspace(self.store, p.workspace_id)
        task = await self._task(ws, p.task_id)
        return await self.lifecycle.retry(ws.id, task.id)

    async def transition(self, conn: Connection, p: api.TaskTransitionParams) -> Any:
        ws = await resolve_workspace(self.store, p.workspace_id)
        task = await self._task(ws, p.task_id)
        await self.lifecycle.move(ws.id, task, p.to_status)
        return {}

    async def clean(self, conn: Connection, p: api.TaskCleanParams) -> api.TaskCleanResult:
        """What is left of ended tasks in their repositories, removed where that loses
        nothing (or ``force``); tasks without a worktree left are not listed."""
        ws = await resolve_workspace(self.store, p.workspace_id)
        if p.task_id is not None:
            await self._task(ws, p.task_id)  # a missing or foreign id is not found
        items = []
        for task in await self.store.task_ended_with_work_dir(ws.id, p.task_id):
            assert task.work_dir is not None
            done = await tidy(
                Path(task.work_dir), task_branch(task.id), force=p.force, dry_run=p.dry_run
            )
            if done.worktree != "gone":
                items.append(
                    api.TaskCleanItem(
                        task_id=task.id,
                        work_dir=task.work_dir,
                        worktree=done.worktree,
                        branch=done.branch,
                    )
                )
        return api.TaskCleanResult(items=items, dry_run=p.dry_run)
