"""RPC handlers: resolve the workspace, call the store, translate errors, announce events.

Every workspace-scoped call resolves slug-or-id to the real row first (the IDOR guard):
an id from another workspace gets exactly the answer a missing id gets."""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hangar import __version__
from hangar.core import names
from hangar.core.fsm import FinalizeOutcome, TaskStatus, UnknownState, parse_status
from hangar.daemon import git
from hangar.daemon.providers import get_provider
from hangar.daemon.runner import KillReason
from hangar.daemon.sessions.errors import INVALID_KINDS, SessionError
from hangar.proto import api, methods
from hangar.proto import jsonrpc as rpc
from hangar.proto.events import IssueCreated, IssueUpdated
from hangar.proto.rows import ActorRow, AgentRow, TaskRow, WorkspaceRow
from hangar.store.errors import Conflict, InvalidTransition, InvalidValue, NotFound

if TYPE_CHECKING:
    from hangar.daemon.app import Daemon
    from hangar.daemon.server import Connection
    from hangar.store import Store


#: prompts travel in argv for some CLIs, and Linux caps one argv string at 128 KiB
MAX_DESCRIPTION_BYTES = 100 * 1024


def not_found(kind: str, ident: str) -> rpc.RpcError:
    return rpc.RpcError(rpc.NOT_FOUND, f"{kind} not found: {ident}")


def invalid(message: str) -> rpc.RpcError:
    return rpc.RpcError(rpc.INVALID_PARAMS, message)


async def resolve_workspace(store: Store, ident: str | None) -> WorkspaceRow:
    """Slug or id → the row (absent: the default workspace); a missing one is -32010."""
    if ident is None:
        return await store.workspace_default()
    row = await store.workspace_resolve(ident)
    if row is None:
        raise not_found("workspace", ident)
    return row


def _page(limit: int | None, *, default: int, maximum: int) -> int:
    """Replies must fit a frame (16 MiB): lists are paged, never unbounded."""
    if limit is None:
        return default
    if not 1 <= limit <= maximum:
        raise invalid(f"limit must be between 1 and {maximum}")
    return limit


def _refusal(outcome: FinalizeOutcome, verb: str, task_id: str) -> rpc.RpcError:
    found = outcome.found.value if outcome.found else "missing"
    return invalid(f"cannot {verb} task {task_id}: it is {found}")


def _session_error(exc: SessionError) -> rpc.RpcError:
    if exc.kind == "not_found":
        code = rpc.NOT_FOUND
    elif exc.kind in INVALID_KINDS:
        code = rpc.INVALID_PARAMS
    else:
        code = rpc.CONFLICT
    return rpc.RpcError(code, exc.message, {"kind": exc.kind})


def _translating(fn: Any) -> Any:
    """Store and domain errors become the JSON-RPC errors a client can act on."""

    @functools.wraps(fn)
    async def wrapper(conn: Connection, params: Any) -> Any:
        try:
            return await fn(conn, params)
        except SessionError as exc:
            raise _session_error(exc) from None
        except NotFound as exc:
            raise rpc.RpcError(rpc.NOT_FOUND, str(exc)) from None
        except Conflict as exc:
            raise rpc.RpcError(rpc.CONFLICT, str(exc)) from None
        except (InvalidValue, InvalidTransition, UnknownState, ValueError) as exc:
            raise invalid(str(exc)) from None

    return wrapper


class Handlers:
    def __init__(self, daemon: Daemon) -> None:
        self.d = daemon
        self.store = daemon.ctx.store
        self.started = time.monotonic()
        self._owner_refs: dict[str, str] = {}

    def table(self) -> dict[str, tuple[type[Any] | None, Any]]:
        every = {**self._table(), **self.d.session_handlers.table()}
        return {name: (params, _translating(fn)) for name, (params, fn) in every.items()}

    def _table(self) -> dict[str, tuple[type[Any] | None, Any]]:
        return {
            methods.PING: (api.Empty, self.ping),
            methods.WORKSPACE_LIST: (api.Empty, self.workspace_list),
            methods.WORKSPACE_CREATE: (api.WorkspaceCreateParams, self.workspace_create),
            methods.WORKSPACE_USE: (api.WorkspaceUseParams, self.workspace_use),
            methods.WORKSPACE_SUBSCRIBE: (api.WorkspaceScoped, self.workspace_subscribe),
            methods.DAEMON_SHUTDOWN: (api.Empty, self.daemon_shutdown),
            methods.ISSUES_LIST: (api.IssuesListParams, self.issues_list),
            methods.ISSUE_GET: (api.IssueGetParams, self.issue_get),
            methods.ISSUE_CREATE: (api.IssueCreateParams, self.issue_create),
            methods.ISSUE_UPDATE: (api.IssueUpdateParams, self.issue_update),
            methods.AGENTS_LIST: (api.WorkspaceScoped, self.agents_list),
            methods.AGENT_GET: (api.AgentGetParams, self.agent_get),
            methods.AGENT_CREATE: (api.AgentCreateParams, self.agent_create),
            methods.TASKS_LIST: (api.TasksListParams, self.tasks_list),
            methods.TASK_GET: (api.TaskIdParams, self.task_get),
            methods.TASK_TRANSITION: (api.TaskTransitionParams, self.task_transition),
            methods.TASK_CANCEL: (api.TaskIdParams, self.task_cancel),
            methods.TASK_RETRY: (api.TaskIdParams, self.task_retry),
            methods.TASK_MESSAGES: (api.TaskMessagesParams, self.task_messages),
            methods.HEALTH: (api.Empty, self.health),
            methods.DAEMON_HEALTH: (api.WorkspaceScoped, self.daemon_health),
        }

    # -- helpers -------------------------------------------------------------------------
    async def _workspace(self, ident: str | None) -> WorkspaceRow:
        return await resolve_workspace(self.store, ident)

    async def _agent(self, ws: WorkspaceRow, ident: str) -> AgentRow:
        agent = await self.store.agent_get(ws.id, ident)
        if agent is None:
            raise not_found("agent", ident)
        return agent

    async def _task(self, ws: WorkspaceRow, task_id: str) -> TaskRow:
        task = await self.store.task_get(ws.id, task_id)
        if task is None:
            raise not_found("task", task_id)
        return task

    # -- transport -----------------------------------------------------------------------
    async def ping(self, conn: Connection, p: api.Empty) -> dict[str, Any]:
        return {}

    async def daemon_shutdown(self, conn: Connection, p: api.Empty) -> dict[str, Any]:
        # stop a moment later, so this answer leaves before the socket closes
        asyncio.get_running_loop().call_later(0.05, self.d.request_stop)
        return {}

    async def workspace_list(self, conn: Connection, p: api.Empty) -> api.WorkspacesResult:
        await self.store.workspace_default()  # the first use bootstraps it
        return api.WorkspacesResult(workspaces=await self.store.workspace_list())

    async def workspace_create(
        self, conn: Connection, p: api.WorkspaceCreateParams
    ) -> WorkspaceRow:
        try:
            names.validate_slug(p.slug)
        except ValueError as exc:
            raise invalid(str(exc)) from None
        try:
            return await self.store.workspace_create(p.slug, p.name or p.slug)
        except Conflict:
            raise rpc.RpcError(rpc.CONFLICT, f"workspace {p.slug!r} already exists") from None

    async def workspace_use(self, conn: Connection, p: api.WorkspaceUseParams) -> WorkspaceRow:
        ws = await self._workspace(p.workspace_id)
        await self.store.workspace_set_default(ws.id)
        return await self._workspace(ws.id)

    async def workspace_subscribe(
        self, conn: Connection, p: api.WorkspaceScoped
    ) -> api.SubscribeResult:
        ws = await self._workspace(p.workspace_id)
        conn.attach_subscription(self.d.ctx.bus.subscribe(ws.id))
        return api.SubscribeResult(workspace=ws)

    # -- issues --------------------------------------------------------------------------
    async def issues_list(self, conn: Connection, p: api.IssuesListParams) -> api.IssuesListResult:
        ws = await self._workspace(p.workspace_id)
        return api.IssuesListResult(issues=await self.store.issue_list(ws.id, state=p.state))

    async def issue_get(self, conn: Connection, p: api.IssueGetParams) -> api.IssueDetail:
        ws = await self._workspace(p.workspace_id)
        issue = await self.store.issue_get(ws.id, p.issue_id)
        if issue is None:
            raise not_found("issue", p.issue_id)
        tasks = await self.store.task_list(ws.id, issue_id=issue.id)
        return api.IssueDetail(issue=issue, tasks=tasks)

    async def issue_create(
        self, conn: Connection, p: api.IssueCreateParams
    ) -> api.IssueCreateResult:
        ws = await self._workspace(p.workspace_id)
        names.validate_title(p.title)
        names.validate_priority(p.priority)
        if p.description is not None:
            if len(p.description.encode()) > MAX_DESCRIPTION_BYTES:
                raise invalid(
                    f"description is over {MAX_DESCRIPTION_BYTES // 1024} KiB; put long "
                    "material in a file in the repository and point to it"
                )
            if "\x00" in p.description:
                raise invalid("description contains a NUL byte")
        repo = await self._checked_repo(p.repo_path)
        agent = await self._agent(ws, p.assign) if p.assign else None
        owner = self._owner_refs.get(ws.id)
        if owner is None:  # a workspace's owner never changes: look it up once
            owner = self._owner_refs[ws.id] = await self.store.workspace_owner_ref(ws.id)
        try:
            issue, task = await self.store.issue_create(
                ws.id,
                title=p.title.strip(),
                description=p.description,
                priority=p.priority,
                repo_path=repo,
                creator=owner,
                assign_agent_id=agent.id if agent else None,
            )
        except Conflict as exc:
            raise rpc.RpcError(rpc.CONFLICT, str(exc)) from None
        self.d.ctx.publish(ws.id, IssueCreated(issue=issue))
        if task is not None:
            self.d.ctx.announce_queued(task)
        return api.IssueCreateResult(issue=issue, task=task)

    async def issue_update(self, conn: Connection, p: api.IssueUpdateParams) -> Any:
        ws = await self._workspace(p.workspace_id)
        kwargs: dict[str, Any] = {}
        if p.state is not None:
            if p.state not in ("open", "in_progress", "done", "cancelled"):
                raise invalid(f"unknown issue state {p.state!r}")
            kwargs["state"] = p.state
        if p.priority is not None:
            try:
                names.validate_priority(p.priority)
            except ValueError as exc:
                raise invalid(str(exc)) from None
            kwargs["priority"] = p.priority
        try:
            issue = await self.store.issue_update(ws.id, p.issue_id, **kwargs)
        except NotFound:
            raise not_found("issue", p.issue_id) from None
        self.d.ctx.publish(ws.id, IssueUpdated(issue=issue))
        return issue

    async def _checked_repo(self, repo_path: str | None) -> str | None:
        if not repo_path:
            return None
        try:
            return str(await git.toplevel(Path(repo_path).expanduser().resolve()))
        except git.GitError as exc:
            raise invalid(str(exc)) from None

    # -- agents --------------------------------------------------------------------------
    async def agents_list(self, conn: Connection, p: api.WorkspaceScoped) -> api.AgentsListResult:
        ws = await self._workspace(p.workspace_id)
        agents = await self.store.agent_list(ws.id)
        actors = [
            ActorRow(
                actor_ref=f"agent:{a.id}",
                display_name=a.name,
                subtitle=f"{a.provider}{' · ' + a.model if a.model else ''}",
                presence="online",
                is_agent=True,
            )
            for a in agents
        ]
        return api.AgentsListResult(actors=actors, agents=agents)

    async def agent_get(self, conn: Connection, p: api.AgentGetParams) -> AgentRow:
        ws = await self._workspace(p.workspace_id)
        return await self._agent(ws, p.agent)

    async def agent_create(self, conn: Connection, p: api.AgentCreateParams) -> AgentRow:
        ws = await self._workspace(p.workspace_id)
        try:
            names.validate_agent_name(p.name)
            provider = get_provider(p.provider)
        except ValueError as exc:
            raise invalid(str(exc)) from None
        if p.provider == "command" and not p.command:
            raise invalid("the command provider needs --command (the argv to run)")
        if p.command is not None and not p.command:
            raise invalid("--command must not be empty")
        if not 1 <= p.max_concurrent_tasks <= 64:
            raise invalid("max_concurrent_tasks must be between 1 and 64")
        for label, ms in (
            ("max runtime", p.max_runtime_ms),
            ("inactivity", p.inactivity_timeout_ms),
        ):
            if ms is not None and ms <= 0:
                raise invalid(f"{label} must be positive")
        exe = p.command[0] if p.command else provider.executable
        path = self.d.ctx.parent_env.get("PATH", os.defpath)
        if shutil.which(exe, path=path) is None:
            raise invalid(
                f"{exe!r} is not installed or not on the daemon's PATH; install it or pass "
                "--command with the full path"
            )
        repo = await self._checked_repo(p.repo_path)
        runtime = await self.store.runtime_ensure(ws.id, self.d.ctx.daemon_id, p.provider)
        try:
            agent = await self.store.agent_create(
                ws.id,
                name=p.name,
                provider=p.provider,
                runtime_id=runtime.id,
                command=p.command,
                model=p.model,
                instructions=p.instructions,
                max_concurrent_tasks=p.max_concurrent_tasks,
                repo_path=repo,
                max_runtime_ms=p.max_runtime_ms,
                inactivity_timeout_ms=p.inactivity_timeout_ms,
            )
        except Conflict:
            raise rpc.RpcError(rpc.CONFLICT, f"agent {p.name!r} already exists") from None
        await self.d.dispatcher.refresh_runtimes()
        return agent

    # -- tasks ---------------------------------------------------------------------------
    async def tasks_list(self, conn: Connection, p: api.TasksListParams) -> api.TasksListResult:
        ws = await self._workspace(p.workspace_id)
        if p.status is not None:
            try:
                TaskStatus(p.status)
            except ValueError:
                raise invalid(f"unknown task status {p.status!r}") from None
        limit = _page(p.limit, default=1000, maximum=10_000)
        tasks = await self.store.task_list(ws.id, status=p.status, issue_id=p.issue_id, limit=limit)
        return api.TasksListResult(tasks=tasks)

    async def task_get(self, conn: Connection, p: api.TaskIdParams) -> api.TaskDetail:
        ws = await self._workspace(p.workspace_id)
        task = await self._task(ws, p.task_id)
        usage = await self.store.usage_list(ws.id, task.id)
        count = await self.store.messages_count(ws.id, task.id)
        return api.TaskDetail(task=task, usage=usage, message_count=count)

    async def task_messages(
        self, conn: Connection, p: api.TaskMessagesParams
    ) -> api.TaskMessagesResult:
        ws = await self._workspace(p.workspace_id)
        task = await self._task(ws, p.task_id)
        limit = _page(p.limit, default=1000, maximum=5000)
        rows = await self.store.messages_list(ws.id, task.id, after_seq=p.after_seq, limit=limit)
        return api.TaskMessagesResult(messages=rows, status=task.status)

    async def task_cancel(self, conn: Connection, p: api.TaskIdParams) -> TaskRow:
        ws = await self._workspace(p.workspace_id)
        task = await self._task(ws, p.task_id)
        outcome = await self.store.task_cancel(ws.id, task.id)
        if not outcome.ok:
            raise _refusal(outcome, "cancel", task.id)
        if outcome.wrote:
            self.d.dispatcher.kill(task.id, KillReason.CANCEL)
            self.d.ctx.announce_finished(ws.id, task.id, "cancelled", "user_cancel")
            await self.d.ctx.announce_issue(ws.id, task.issue_id)
            self.d.dispatcher.wake()
        return await self._task(ws, task.id)

    async def task_retry(self, conn: Connection, p: api.TaskIdParams) -> TaskRow:
        ws = await self._workspace(p.workspace_id)
        task = await self._task(ws, p.task_id)
        try:
            child = await self.store.task_retry(ws.id, task.id)
        except InvalidTransition as exc:
            raise _refusal(exc.outcome, "retry", task.id) from None
        except Conflict as exc:
            raise rpc.RpcError(rpc.CONFLICT, str(exc)) from None
        self.d.ctx.announce_queued(child)
        return child

    async def task_transition(self, conn: Connection, p: api.TaskTransitionParams) -> Any:
        """A board move. A person may cancel (→ cancelled) or re-queue a finished failure
        (→ queued, a retry); every other edge belongs to the daemon, which supervises the
        agent process behind it, so moving a row under it is refused."""
        ws = await self._workspace(p.workspace_id)
        target = parse_status(p.to_status)  # UnknownState → -32602
        task = await self._task(ws, p.task_id)
        if target is TaskStatus.CANCELLED:
            await self.task_cancel(conn, api.TaskIdParams(workspace_id=ws.id, task_id=task.id))
            return {}
        if target is TaskStatus.QUEUED and task.status in ("failed", "cancelled"):
            await self.task_retry(conn, api.TaskIdParams(workspace_id=ws.id, task_id=task.id))
            return {}
        raise invalid(
            f"illegal transition {task.status} -> {target.value}: only cancel, or re-queue "
            "a failed or cancelled task, can be done by hand"
        )

    # -- health --------------------------------------------------------------------------
    async def health(self, conn: Connection, p: api.Empty) -> api.HealthSnapshot:
        info = await self.store.health()
        return api.HealthSnapshot(
            socket_path=str(self.d.paths.socket),
            pid=os.getpid(),
            uptime_secs=round(time.monotonic() - self.started, 3),
            version=__version__,
            connected=len(self.d.server.connections) if self.d.server else 0,
            database=str(info.get("dialect")),
            migrated=bool(info.get("migrated")),
            revision=info.get("revision"),
            daemon_id=self.d.ctx.daemon_id,
        )

    async def daemon_health(
        self, conn: Connection, p: api.WorkspaceScoped
    ) -> api.DaemonHealthSnapshot:
        ws = await self._workspace(p.workspace_id)
        runtimes = await self.store.runtimes_list(ws.id)
        success, failure = self.d.ctx.throughput.snapshot(self.d.ctx.clock.now_ms())
        counts = await self.store.task_status_counts(ws.id)
        return api.DaemonHealthSnapshot(
            runtimes=runtimes,
            slots_total=self.d.dispatcher.slots,
            slots_used=self.d.dispatcher.slots_used,
            concurrent_tasks=counts["dispatched"] + counts["running"],
            queued_tasks=counts["queued"],
            success_ring=success,
            failure_ring=failure,
        )
