"""Tasks: list, get, transcript, and the transitions a person may ask for (cancel, retry,
a board move). The transitions themselves are the lifecycle's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hangar.core.fsm import TaskStatus, parse_status
from hangar.daemon.lifecycle import Lifecycle
from hangar.daemon.rpc.common import Routes, invalid, not_found, page, resolve_workspace, routes
from hangar.proto import api, methods
from hangar.proto.rows import TaskRow, WorkspaceRow
from hangar.store import Store

if TYPE_CHECKING:
    from hangar.daemon.rpc.server import Connection

__all__ = ["TaskRoutes"]


class TaskRoutes:
    def __init__(self, store: Store, lifecycle: Lifecycle) -> None:
        self.store = store
        self.lifecycle = lifecycle

    def routes(self) -> Routes:
        return routes(
            (methods.TASKS_LIST, api.TasksListParams, self.list),
            (methods.TASK_GET, api.TaskIdParams, self.get),
            (methods.TASK_MESSAGES, api.TaskMessagesParams, self.messages),
            (methods.TASK_CANCEL, api.TaskIdParams, self.cancel),
            (methods.TASK_RETRY, api.TaskIdParams, self.retry),
            (methods.TASK_TRANSITION, api.TaskTransitionParams, self.transition),
        )

    async def _task(self, ws: WorkspaceRow, task_id: str) -> TaskRow:
        task = await self.store.task_get(ws.id, task_id)
        if task is None:
            raise not_found("task", task_id)
        return task

    async def list(self, conn: Connection, p: api.TasksListParams) -> api.TasksListResult:
        ws = await resolve_workspace(self.store, p.workspace_id)
        if p.status is not None:
            try:
                TaskStatus(p.status)
            except ValueError:
                raise invalid(f"unknown task status {p.status!r}") from None
        limit = page(p.limit, default=1000, maximum=10_000)
        tasks = await self.store.task_list(ws.id, status=p.status, issue_id=p.issue_id, limit=limit)
        return api.TasksListResult(tasks=tasks)

    async def get(self, conn: Connection, p: api.TaskIdParams) -> api.TaskDetail:
        ws = await resolve_workspace(self.store, p.workspace_id)
        task = await self._task(ws, p.task_id)
        usage = await self.store.usage_list(ws.id, task.id)
        count = await self.store.messages_count(ws.id, task.id)
        return api.TaskDetail(task=task, usage=usage, message_count=count)

    async def messages(self, conn: Connection, p: api.TaskMessagesParams) -> api.TaskMessagesResult:
        ws = await resolve_workspace(self.store, p.workspace_id)
        task = await self._task(ws, p.task_id)
        limit = page(p.limit, default=1000, maximum=5000)
        rows = await self.store.messages_list(ws.id, task.id, after_seq=p.after_seq, limit=limit)
        return api.TaskMessagesResult(messages=rows, status=task.status)

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
        parse_status(p.to_status)  # an unknown token is -32602 before any lookup
        task = await self._task(ws, p.task_id)
        await self.lifecycle.move(ws.id, task, p.to_status)
        return {}
