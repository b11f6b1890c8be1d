"""The facade: every store operation, each one transaction, all async.

Reads run in a plain transaction; writes in one that takes SQLite's write lock up front
(BEGIN IMMEDIATE), so concurrent writers queue instead of failing on a lock upgrade; within
one process SQLite writers also take turns in FIFO order (see ``writelock``).
Client-reachable by-id calls take the *resolved* workspace id and filter on it: a foreign
id behaves exactly like a missing one.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hangar.core.clock import Clock
from hangar.core.failures import DEFAULT_MAX_ATTEMPTS, FailureReason
from hangar.core.ids import IdGen
from hangar.proto.rows import (
    AgentRow,
    IssueRow,
    RuntimeRow,
    SessionRow,
    TaskMessageRow,
    TaskRow,
    TaskUsageRow,
    WorkspaceRow,
)
from hangar.store import (
    agents,
    finalize,
    issues,
    runtimes,
    sessions,
    settings,
    sweeper,
    tasks,
    transcript,
    workspaces,
)
from hangar.store.autopilot_store import AutopilotStore
from hangar.store.beads import BeadsStore
from hangar.store.blockage import DependencyStore
from hangar.store.comments import CommentStore
from hangar.store.context import StoreContext
from hangar.store.engine import WRITE_OPTION, Dialect, create_engine, dialect_of
from hangar.store.finalize import TaskChange
from hangar.store.issue_edit import IssueEdit, edit
from hangar.store.issues import UNSET, Unset
from hangar.store.migrate import current_revision, head_revision
from hangar.store.migrate import migrate as run_migrations
from hangar.store.notify import NotifyStore
from hangar.store.skills import SkillStore
from hangar.store.sweeper import RecoveryReport, SweepReport
from hangar.store.tokens import TokenStore
from hangar.store.writelock import lock_key, writer_lock

#: how long the default workspace is taken as read (see ``Store.workspace_default``)
DEFAULT_FRESH_S = 1.0


class Store:
    """The database behind the daemon. Build with :meth:`open`; :meth:`close` when done."""

    def __init__(self, engine: AsyncEngine, *, clock: Clock, ids: IdGen) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._ctx = StoreContext(clock=clock, ids=ids)
        self.dialect: Dialect = dialect_of(engine)
        self._lock_key = lock_key(engine) if self.dialect == "sqlite" else None
        self._default: tuple[WorkspaceRow, float] | None = None
        #: skills: sync, list, attach, remove, an agent's for dispatch (``store/skills.py``)
        self.skills = SkillStore(self._read, self._write, self._ctx)
        self.autopilots = AutopilotStore(self._read, self._write, self._ctx)
        #: issues' threads: add a comment, a page of them (``store/comments.py``)
        self.comments = CommentStore(self._read, self._write, self._ctx)
        #: which issue waits for which: add, remove, blockers and dependents with their states
        #: (``store/dependencies.py``, ``core/dependencies.py``)
        self.dependencies = DependencyStore(self._read, self._write, self._ctx)
        #: personal tokens: create, list, look up by digest, revoke, touch (``store/tokens.py``)
        self.tokens = TokenStore(self._read, self._write, self._ctx)
        #: which bd issue mirrors which issue (``store/beads.py``, docs/beads.md)
        self.beads = BeadsStore(self._read, self._write)
        #: notification channels and their delivery history (``store/notify.py``)
        self.notify = NotifyStore(self._read, self._write, self._ctx)

    @classmethod
    async def open(cls, url: str, *, clock: Clock, ids: IdGen, migrate: bool = True) -> Store:
        engine = create_engine(url)
        try:
            if migrate:
                await run_migrations(engine)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine, clock=clock, ids=ids)

    async def close(self) -> None:
        await self._engine.dispose()

    @property
    def engine(self) -> AsyncEngine:
        """For tests and tooling inside the store package; nothing else runs SQL."""
        return self._engine

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        if self._lock_key is None:
            async with self._writer.begin() as conn:
                yield conn
            return
        async with writer_lock(self._lock_key), self._writer.begin() as conn:
            yield conn

    async def health(self) -> dict[str, Any]:
        revision = await current_revision(self._engine)
        return {
            "dialect": self.dialect,
            "migrated": revision == head_revision(),
            "revision": revision or "",
        }

    # --- workspaces ---------------------------------------------------------------------

    async def workspace_create(self, slug: str, name: str) -> WorkspaceRow:
        async with self._write() as conn:
            return await workspaces.create(conn, self._ctx, slug, name)

    async def workspace_list(self) -> list[WorkspaceRow]:
        async with self._read() as conn:
            return await workspaces.list_all(conn)

    async def workspace_resolve(self, ident: str) -> WorkspaceRow | None:
        async with self._read() as conn:
            return await workspaces.resolve(conn, ident)

    async def workspace_default(self) -> WorkspaceRow:
        """The default workspace, made on first use. Almost every call without a workspace
        asks for it, so it is kept for ``DEFAULT_FRESH_S``; a change through this store is
        seen at once, one made by another host within that time."""
        cached = self._default
        if cached is not None and time.monotonic() - cached[1] < DEFAULT_FRESH_S:
            return cached[0]
        async with self._read() as conn:
            row = await workspaces.current_default(conn)
        if row is None:
            async with self._write() as conn:
                row = await workspaces.bootstrap_default(conn, self._ctx)
        self._default = (row, time.monotonic())
        return row

    async def workspace_set_default(self, workspace_id: str) -> WorkspaceRow:
        self._default = None
        async with self._write() as conn:
            row = await workspaces.set_default(conn, workspace_id)
        self._default = None  # a read that raced with the write may have cached the old one
        return row

    async def workspace_rename(
        self, workspace_id: str, slug: str, name: str | None = None
    ) -> WorkspaceRow:
        """A new slug (a taken one is a ``Conflict``); the name too when given, or when it
        was the old slug."""
        self._default = None
        async with self._write() as conn:
            row = await workspaces.rename(conn, workspace_id, slug, name)
        self._default = None  # a read that raced with the write may have cached the old one
        return row

    async def workspace_owner_ref(self, workspace_id: str) -> str:
        """``member:<id>`` of the workspace's owner (the local owner user if it has none)."""
        async with self._write() as conn:  # may create the local owner user on first use
            return await workspaces.owner_ref(conn, self._ctx, workspace_id)

    # --- runtimes -----------------------------------------------------------------------

    async def runtime_ensure(self, workspace_id: str, daemon_id: str, provider: str) -> RuntimeRow:
        async with self._write() as conn:
            return await runtimes.ensure(conn, self._ctx, workspace_id, daemon_id, provider)

    async def runtimes_heartbeat(self, daemon_id: str) -> int:
        async with self._write() as conn:
            return await runtimes.heartbeat(conn, self._ctx, daemon_id)

    async def runtimes_mark_offline(self, daemon_id: str) -> int:
        async with self._write() as conn:
            return await runtimes.mark_offline(conn, daemon_id)

    async def runtimes_for_daemon(self, daemon_id: str) -> list[RuntimeRow]:
        async with self._read() as conn:
            return await runtimes.for_daemon(conn, daemon_id)

    async def runtimes_list(self, workspace_id: str) -> list[RuntimeRow]:
        async with self._read() as conn:
            return await runtimes.list_for_workspace(conn, workspace_id)

    # --- agents -------------------------------------------------------------------------

    async def agent_create(
        self,
        workspace_id: str,
        *,
        name: str,
        runtime_id: str,
        provider: str = "command",
        command: list[str] | None = None,
        model: str | None = None,
        instructions: str = "",
        max_concurrent_tasks: int = 1,
        repo_path: str | None = None,
        max_runtime_ms: int | None = None,
        inactivity_timeout_ms: int | None = None,
    ) -> AgentRow:
        async with self._write() as conn:
            return await agents.create(
                conn,
                self._ctx,
                workspace_id,
                name=name,
                provider=provider,
                runtime_id=runtime_id,
                command=command,
                model=model,
                instructions=instructions,
                max_concurrent_tasks=max_concurrent_tasks,
                repo_path=repo_path,
                max_runtime_ms=max_runtime_ms,
                inactivity_timeout_ms=inactivity_timeout_ms,
            )

    async def agent_get(self, workspace_id: str, ident: str) -> AgentRow | None:
        async with self._read() as conn:
            return await agents.get(conn, workspace_id, ident)

    async def agent_list(self, workspace_id: str) -> list[AgentRow]:
        async with self._read() as conn:
            return await agents.list_for_workspace(conn, workspace_id)

    # --- issues -------------------------------------------------------------------------

    async def issue_create(
        self,
        workspace_id: str,
        *,
        title: str,
        creator: str,
        description: str | None = None,
        priority: int = 0,
        repo_path: str | None = None,
        assign_agent_id: str | None = None,
        blocked_by: Sequence[str] = (),
    ) -> tuple[IssueRow, TaskRow | None]:
        """A new issue; with ``assign_agent_id`` (an agent's id or name) also its queued task,
        unless ``blocked_by`` leaves it blocked (then its last blocker's finalize queues it)."""
        async with self._write() as conn:
            return await issues.create(
                conn,
                self._ctx,
                workspace_id,
                title=title,
                description=description,
                priority=priority,
                repo_path=repo_path,
                creator=creator,
                assign_agent=assign_agent_id,
                blocked_by=blocked_by,
            )

    async def issue_get(self, workspace_id: str, issue_id: str) -> IssueRow | None:
        async with self._read() as conn:
            return await issues.get(conn, workspace_id, issue_id)

    async def issue_list(
        self,
        workspace_id: str,
        state: str | None = None,
        *,
        limit: int | None = None,
        before: str | None = None,
        assignee: str | None = None,
        assignee_kind: str | None = None,
        blocked: bool | None = None,
    ) -> list[IssueRow]:
        async with self._read() as conn:
            return await issues.list_for_workspace(
                conn,
                workspace_id,
                state,
                limit=limit,
                before=before,
                assignee=assignee,
                assignee_kind=assignee_kind,
                blocked=blocked,
            )

    async def issue_assign(
        self, workspace_id: str, issue_id: str, who: str
    ) -> tuple[IssueRow, TaskRow | None]:
        """Assign to a member, or to an agent (which queues its task)."""
        async with self._write() as conn:
            return await issues.assign(conn, self._ctx, workspace_id, issue_id, who)

    async def issue_update(
        self,
        workspace_id: str,
        issue_id: str,
        *,
        state: str | Unset = UNSET,
        assignee: str | Unset | None = UNSET,
        priority: int | Unset = UNSET,
    ) -> IssueRow:
        async with self._write() as conn:
            return await issues.update_fields(
                conn, workspace_id, issue_id, state=state, assignee=assignee, priority=priority
            )

    async def issue_edit(
        self,
        workspace_id: str,
        issue_id: str,
        *,
        title: str | Unset = UNSET,
        description: str | Unset | None = UNSET,
        priority: int | Unset = UNSET,
        state: str | Unset = UNSET,
        assignee: str | Unset | None = UNSET,
    ) -> IssueEdit:
        """An edit by hand and all it implies, in one transaction (``store/issue_edit.py``)."""
        async with self._write() as conn:
            return await edit(
                conn,
                self._ctx,
                workspace_id,
                issue_id,
                title=title,
                description=description,
                priority=priority,
                state=state,
                assignee=assignee,
            )

    # --- tasks: the FSM services --------------------------------------------------------

    async def task_enqueue(
        self,
        workspace_id: str,
        *,
        agent_id: str,
        issue_id: str | None = None,
        priority: int = 0,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> TaskRow:
        async with self._write() as conn:
            return await tasks.enqueue(
                conn,
                self._ctx,
                workspace_id,
                agent_id=agent_id,
                issue_id=issue_id,
                priority=priority,
                max_attempts=max_attempts,
            )

    async def task_claim(self, runtime_ids: Sequence[str]) -> TaskRow | None:
        async with self._write() as conn:
            return await tasks.claim(conn, self._ctx, runtime_ids)

    async def task_start(self, task_id: str, *, work_dir: str | None) -> TaskChange:
        async with self._write() as conn:
            return await finalize.start(conn, self._ctx, task_id, work_dir=work_dir)

    async def task_complete(
        self, task_id: str, *, result: Mapping[str, Any] | None, session_id: str | None
    ) -> TaskChange:
        async with self._write() as conn:
            return await finalize.complete(
                conn, self._ctx, task_id, result=result, session_id=session_id
            )

    async def task_fail(
        self,
        task_id: str,
        *,
        reason: FailureReason,
        result: Mapping[str, Any] | None = None,
        session_id: str | None = None,
    ) -> TaskChange:
        async with self._write() as conn:
            return await finalize.fail(
                conn, self._ctx, task_id, reason=reason, result=result, session_id=session_id
            )

    async def task_cancel(self, workspace_id: str | None, task_id: str) -> TaskChange:
        """→ cancelled at once, from any legal source: for the daemon that stopped the run."""
        async with self._write() as conn:
            return await finalize.cancel(conn, self._ctx, workspace_id, task_id)

    async def task_request_cancel(self, workspace_id: str, task_id: str) -> TaskChange:
        """A person's cancel: queued → cancelled; dispatched/running → marked for its daemon."""
        async with self._write() as conn:
            return await finalize.request_cancel(conn, self._ctx, workspace_id, task_id)

    async def task_transition(self, workspace_id: str, task_id: str, to_status: str) -> TaskChange:
        """Any edge of the FSM table by name (a ``TaskStatus`` is a str too); an unknown
        token raises ``hangar.core.fsm.UnknownState``."""
        async with self._write() as conn:
            return await finalize.transition_by_hand(
                conn, self._ctx, workspace_id, task_id, to_status
            )

    async def task_retry(
        self, workspace_id: str, task_id: str, rearmed: list[IssueRow] | None = None
    ) -> TaskRow:
        """A queued child of a failed or cancelled task; ``rearmed`` collects the open
        dependents of its issue as they are now (no longer stranded)."""
        async with self._write() as conn:
            return await finalize.retry(conn, self._ctx, workspace_id, task_id, rearmed)

    async def task_cancel_requested(self, task_ids: Sequence[str]) -> list[str]:
        """Of these running or dispatched tasks, the ones with a cancel request."""
        async with self._read() as conn:
            return await tasks.cancel_requested(conn, task_ids)

    async def task_pin_session(self, task_id: str, session_id: str) -> bool:
        """Daemon-internal: store the session id of a live (dispatched/running) task."""
        async with self._write() as conn:
            return await tasks.pin_session(conn, task_id, session_id)

    async def task_get(self, workspace_id: str, task_id: str) -> TaskRow | None:
        async with self._read() as conn:
            return await tasks.get(conn, workspace_id, task_id)

    async def task_list(
        self,
        workspace_id: str,
        *,
        status: str | None = None,
        issue_id: str | None = None,
        limit: int | None = None,
        before: str | None = None,
    ) -> list[TaskRow]:
        async with self._read() as conn:
            return await tasks.list_for_workspace(
                conn, workspace_id, status=status, issue_id=issue_id, limit=limit, before=before
            )

    async def task_ended_with_work_dir(
        self, workspace_id: str, task_id: str | None = None
    ) -> list[TaskRow]:
        async with self._read() as conn:
            return await tasks.ended_with_work_dir(conn, workspace_id, task_id)

    async def task_status_counts(self, workspace_id: str) -> dict[str, int]:
        """Tasks per status in one workspace: what a health pane needs, without the rows."""
        async with self._read() as conn:
            return await tasks.status_counts(conn, workspace_id)

    async def task_pending_count(self, runtime_ids: Sequence[str]) -> int:
        """Tasks of these runtimes that are pending in the FSM sense: queued or dispatched."""
        async with self._read() as conn:
            return await tasks.pending_count(conn, runtime_ids)

    async def task_active_ids(self, runtime_ids: Sequence[str]) -> list[str]:
        """Ids of these runtimes' tasks that hold a slot: dispatched or running."""
        async with self._read() as conn:
            return await tasks.active_ids(conn, runtime_ids)

    # --- sweeps and recovery ------------------------------------------------------------

    async def sweep(
        self,
        *,
        batch: int = sweeper.DEFAULT_BATCH,
        queued_ttl_ms: int = sweeper.QUEUED_TTL_MS,
        reclaim_window_ms: int = sweeper.RECLAIM_WINDOW_MS,
        dispatched_ttl_ms: int = sweeper.DISPATCHED_TTL_MS,
        running_ttl_ms: int = sweeper.RUNNING_TTL_MS,
        runtime_offline_ms: int = sweeper.RUNTIME_OFFLINE_MS,
    ) -> SweepReport:
        async with self._write() as conn:
            return await sweeper.sweep(
                conn,
                self._ctx,
                batch=batch,
                queued_ttl_ms=queued_ttl_ms,
                reclaim_window_ms=reclaim_window_ms,
                dispatched_ttl_ms=dispatched_ttl_ms,
                running_ttl_ms=running_ttl_ms,
                runtime_offline_ms=runtime_offline_ms,
            )

    async def recover_runtimes(self, runtime_ids: Sequence[str]) -> RecoveryReport:
        async with self._write() as conn:
            return await sweeper.recover(conn, self._ctx, runtime_ids)

    # --- transcript and usage -----------------------------------------------------------

    async def messages_append(
        self, task_id: str, items: Sequence[tuple[str, str]]
    ) -> list[TaskMessageRow]:
        async with self._write() as conn:
            return await transcript.append(conn, self._ctx, task_id, items)

    async def messages_list(
        self,
        workspace_id: str,
        task_id: str,
        *,
        after_seq: int = 0,
        limit: int | None = None,
    ) -> list[TaskMessageRow]:
        async with self._read() as conn:
            return await transcript.list_messages(
                conn, workspace_id, task_id, after_seq=after_seq, limit=limit
            )

    async def messages_count(self, workspace_id: str, task_id: str) -> int:
        async with self._read() as conn:
            return await transcript.count_messages(conn, workspace_id, task_id)

    async def usage_set(self, task_id: str, rows: Sequence[TaskUsageRow]) -> None:
        async with self._write() as conn:
            await transcript.usage_set(conn, task_id, rows)

    async def usage_list(self, workspace_id: str, task_id: str) -> list[TaskUsageRow]:
        async with self._read() as conn:
            return await transcript.usage_list(conn, workspace_id, task_id)

    # --- interactive sessions -----------------------------------------------------------

    async def session_create(self, workspace_id: str, **fields: Any) -> SessionRow:
        async with self._write() as conn:
            return await sessions.create(conn, self._ctx, workspace_id, **fields)

    async def session_get(self, workspace_id: str, ref: str) -> SessionRow | None:
        async with self._read() as conn:
            found = await sessions.find(conn, workspace_id, ref)
            return None if found is None else sessions.session_row(found)

    async def session_screen(self, workspace_id: str, session_id: str) -> tuple[str | None, int]:
        """The idle tracker's stored state: (hash of the last screen, when it last changed)."""
        async with self._read() as conn:
            found = await sessions.require(conn, workspace_id, session_id)
            return found["last_hash"], found["last_changed_at"]

    async def session_list(
        self, workspace_id: str, *, include_archived: bool = False, repo_path: str | None = None
    ) -> list[SessionRow]:
        async with self._read() as conn:
            return await sessions.list_for_workspace(
                conn, workspace_id, include_archived=include_archived, repo_path=repo_path
            )

    async def session_list_in_status(self, status: str) -> list[SessionRow]:
        async with self._read() as conn:
            return await sessions.list_in_status(conn, status)

    async def session_holder(self, *, tmux_session: str, worktree_path: str) -> SessionRow | None:
        async with self._read() as conn:
            return await sessions.holder(
                conn, tmux_session=tmux_session, worktree_path=worktree_path
            )

    async def session_set_status_if(self, session_id: str, *, expected: str, status: str) -> bool:
        async with self._write() as conn:
            return await sessions.set_status_if(
                conn, self._ctx, session_id, expected=expected, status=status
            )

    async def session_tmux_names(self) -> set[str]:
        async with self._read() as conn:
            return await sessions.tmux_names(conn)

    async def session_count_live(self, workspace_id: str, repo_path: str) -> int:
        async with self._read() as conn:
            return await sessions.count_live(conn, workspace_id, repo_path)

    async def session_patch(self, workspace_id: str, session_id: str, **changes: Any) -> SessionRow:
        async with self._write() as conn:
            return await sessions.patch(conn, self._ctx, workspace_id, session_id, **changes)

    async def session_record_screen(
        self, session_id: str, *, last_hash: str, last_changed_at: int
    ) -> None:
        async with self._write() as conn:
            await sessions.record_screen(
                conn, session_id, last_hash=last_hash, last_changed_at=last_changed_at
            )

    async def session_delete(self, workspace_id: str, session_id: str) -> None:
        async with self._write() as conn:
            await sessions.delete(conn, workspace_id, session_id)

    # --- daemon socket token ------------------------------------------------------------

    async def socket_token_digest(self) -> str | None:
        async with self._read() as conn:
            return await settings.socket_token_digest(conn)

    async def socket_token_set(self, digest: str) -> None:
        async with self._write() as conn:
            await settings.socket_token_set(conn, self._ctx, digest)
