"""The one lifecycle: every task and issue transition, from any cause, is a store write,
then the events it implies, then the wake-ups — here and nowhere else.

The store's FSM services return the rows they changed (``TaskChange``, the sweep and
recovery reports), so what is announced is what was written, never a second read. A write
that lost a race (``wrote`` is false) announces nothing: the winner already did.

Cancel of a task that holds a process is a request (docs/lifecycle.md#cancel): the row is
marked, the daemon running it stops the agent and finalizes through
:meth:`Lifecycle.finish_cancelled`. Here that daemon is this process when the run is in
``signals``; a run on another host, or on none, is finalized by its own daemon or by the
sweeper.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from hangar.core.clock import Clock
from hangar.core.failures import FailureReason
from hangar.core.fsm import ACTIVE, TaskStatus, parse_status
from hangar.daemon.events import EventBus
from hangar.daemon.signals import RunSignals
from hangar.daemon.throughput import ThroughputRing
from hangar.proto.comments import CommentRow
from hangar.proto.events import (
    AutopilotChanged,
    AutopilotRunChanged,
    CommentCreated,
    DependencyStranded,
    IssueCreated,
    IssueUpdated,
    TaskFinished,
    TaskMessage,
    TaskQueued,
    TaskStarted,
)
from hangar.proto.rows import IssueRow, TaskRow
from hangar.store import (
    InvalidTransition,
    IssueEdit,
    RecoveryReport,
    Store,
    SweepReport,
    TaskChange,
)
from hangar.store.autopilot_fire import FireOutcome
from hangar.store.blockage import Stranding

__all__ = ["CANCEL_WAIT_S", "Lifecycle", "Refused"]

#: How long a cancel waits for the local run to stop and finalize before answering.
CANCEL_WAIT_S = 30.0

T = TypeVar("T")

_RESULT_OF = {TaskStatus.DONE: "success", TaskStatus.CANCELLED: "cancelled"}
#: the autopilot run's status once its task ended for good (the store's cascade)
_RUN_STATUS = {
    TaskStatus.DONE: "completed",
    TaskStatus.FAILED: "failed",
    TaskStatus.CANCELLED: "cancelled",
}


class Refused(ValueError):
    """A transition asked for by hand that the lifecycle does not allow; says why."""


class Lifecycle:
    def __init__(
        self,
        store: Store,
        events: EventBus,
        signals: RunSignals,
        *,
        clock: Clock,
        log: Any,
        throughput: ThroughputRing | None = None,
    ) -> None:
        self.store = store
        self.events = events
        self.signals = signals
        self.clock = clock
        self.log = log
        self.throughput = throughput or ThroughputRing()
        self._issue_watchers: list[Callable[[IssueRow], None]] = []

    def watch_issues(self, watcher: Callable[[IssueRow], None]) -> None:
        """``watcher(issue)`` after each issue write is announced (created, edited, moved by
        its tasks). A plain call that must not block or do IO: the beads mirror only queues
        the id (docs/beads.md#outbound). An exception it raises is logged, never the caller's."""
        self._issue_watchers.append(watcher)

    def _issue_written(self, issue: IssueRow) -> None:
        for watcher in self._issue_watchers:
            try:
                watcher(issue)
            except Exception:
                self.log.exception("issue watcher failed", issue_id=issue.id)

    # -- issues ----------------------------------------------------------------------------
    async def create_issue(
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
        """A new issue, its edges and (unless they block it) its queued task: one write."""
        issue, task = await self.store.issue_create(
            workspace_id,
            title=title,
            description=description,
            priority=priority,
            repo_path=repo_path,
            creator=creator,
            assign_agent_id=assign_agent_id,
            blocked_by=blocked_by,
        )
        await self.events.publish(workspace_id, IssueCreated(issue=issue))
        self._issue_written(issue)
        if task is not None:
            await self._queued([task])
        return issue, task

    async def edit_issue(self, workspace_id: str, issue_id: str, **changes: Any) -> IssueEdit:
        """An edit by hand (``Store.issue_edit``: title, description, priority, state,
        assignee), all it implies written with it; then the events, then the wake-ups: a
        task queued for a new agent wakes the claim loop, and tasks this daemon runs that
        the edit asked to stop are stopped before this returns, as a cancel waits
        (docs/lifecycle.md#editing-an-issue)."""
        edit = await self.store.issue_edit(workspace_id, issue_id, **changes)
        for task in edit.cancelled:
            await self._announce_end(task)
            if task.autopilot_run_id is not None:
                await self._run_ended(task)
        for m in edit.messages:
            message = TaskMessage(task_id=m.task_id, seq=m.seq, kind=m.kind, body=m.body)
            await self.events.publish(workspace_id, message)
        if edit.changed:
            await self.events.publish(workspace_id, IssueUpdated(issue=edit.issue))
            self._issue_written(edit.issue)
        await self._stranded(edit.stranded)
        if edit.queued is not None:
            await self._queued([edit.queued])
        if edit.woken:  # closed done: dependents whose last blocker it was
            await self._queued(edit.woken)
        if edit.requested:
            self.log.info(
                "issue edit asked tasks to stop",
                issue_id=issue_id,
                task_ids=[t.id for t in edit.requested],
            )
            await self._stop_here([t.id for t in edit.requested])
        return edit

    # -- dependencies (docs/lifecycle.md#dependencies) ----------------------------------------
    async def block(
        self, workspace_id: str, issue_id: str, blocker_id: str
    ) -> tuple[IssueRow, bool]:
        """``issue_id`` waits for ``blocker_id``; announced when the edge is new."""
        issue, changed = await self.store.dependencies.block(workspace_id, issue_id, blocker_id)
        if changed:
            await self.events.publish(workspace_id, IssueUpdated(issue=issue))
        return issue, changed

    async def unblock(
        self, workspace_id: str, issue_id: str, blocker_id: str
    ) -> tuple[IssueRow, bool, TaskRow | None]:
        """The edge removed; the task queued with it when that was the last blocker."""
        issue, changed, task = await self.store.dependencies.unblock(
            workspace_id, issue_id, blocker_id
        )
        if changed:
            await self.events.publish(workspace_id, IssueUpdated(issue=issue))
        if task is not None:
            await self._queued([task])
        return issue, changed, task

    async def _stranded(self, strandings: Sequence[Stranding]) -> None:
        """Dependents a blocker left blocked by ending without done: each one's row (its
        ``blocked`` names the blocker) and a ``dependency_stranded`` for notifications."""
        for s in strandings:
            self.log.warning(
                "dependent stranded",
                issue_id=s.issue.id,
                blocker_id=s.blocker_id,
                standing=s.standing.value,
            )
            await self.events.publish(s.issue.workspace_id, IssueUpdated(issue=s.issue))
            await self.events.publish(
                s.issue.workspace_id,
                DependencyStranded(
                    issue_id=s.issue.id,
                    issue_title=s.issue.title,
                    blocker_id=s.blocker_id,
                    standing=s.standing.value,
                ),
            )

    # -- comments --------------------------------------------------------------------------
    async def add_comment(
        self, workspace_id: str, issue_id: str, *, author: str, body: str
    ) -> CommentRow:
        row = await self.store.comments.add(workspace_id, issue_id, author, body)
        await self.events.publish(workspace_id, CommentCreated(comment=row))
        return row

    # -- autopilots ------------------------------------------------------------------------
    async def fire_autopilot(
        self, autopilot_id: str, *, expected_tick: int | None, trigger: str = "schedule"
    ) -> FireOutcome:
        """One fire (a due tick, or ``trigger="manual"``): the run and its task in one
        write, then what it implies (docs/autopilots.md#a-fire)."""
        out = await _persist(
            lambda: self.store.autopilots.fire(
                autopilot_id, expected_tick=expected_tick, trigger=trigger
            )
        )
        ap = out.autopilot
        if ap is None or out.status in ("gone", "duplicate"):
            return out
        ws = ap.workspace_id
        logged = {"autopilot_id": ap.id, "autopilot": ap.name, "planned_at": out.planned_at}

        def run_changed(status: str, **more: Any) -> AutopilotRunChanged:
            return AutopilotRunChanged(
                autopilot_id=ap.id,
                autopilot_name=ap.name,
                planned_at=out.planned_at,
                status=status,
                **more,
            )

        if out.status == "running" and out.run is not None and out.task is not None:
            self.log.info("autopilot fired", run_id=out.run.id, task_id=out.task.id, **logged)
            if out.issue is not None:
                await self.events.publish(ws, IssueCreated(issue=out.issue))
                self._issue_written(out.issue)
            await self.events.publish(
                ws, run_changed("running", run_id=out.run.id, task_id=out.task.id)
            )
            await self._queued([out.task])
        elif out.status == "skipped":
            self.log.info("autopilot.tick_skipped", reason=out.reason, **logged)
            await self.events.publish(ws, run_changed("skipped", reason=out.reason))
        elif out.status == "late":
            self.log.warning("autopilot fire missed", reason=out.reason, **logged)
        elif out.status == "paused":
            self.log.warning("autopilot disabled itself", reason=out.reason, **logged)
        await self.events.publish(ws, AutopilotChanged(autopilot=ap))
        return out

    # -- a run, as its runner sees it -----------------------------------------------------
    async def claim(self, runtime_ids: Sequence[str]) -> TaskRow | None:
        return await self.store.task_claim(runtime_ids)

    async def start(self, task: TaskRow, *, work_dir: str | None) -> TaskChange:
        """dispatched → running once the agent is spawned. Not ``wrote``: the run lost
        (cancelled meanwhile, or started elsewhere) and its agent must be stopped."""
        change = await self.store.task_start(task.id, work_dir=work_dir)
        if change.wrote and change.task is not None:
            started = change.task.started_at or self.clock.now_ms()
            await self.events.publish(
                task.workspace_id, TaskStarted(task_id=task.id, started_at=started)
            )
            await self._issues_moved(task.workspace_id, change.issues)
        return change

    async def complete(
        self, task: TaskRow, *, result: Mapping[str, Any] | None, session_id: str | None
    ) -> TaskChange:
        change = await _persist(
            lambda: self.store.task_complete(task.id, result=result, session_id=session_id)
        )
        await self._finished(change)
        if change.woken:  # dependents whose last blocker this was (core/dependencies.py)
            self.log.info("dependents woken", task_id=task.id, woken=[t.id for t in change.woken])
            await self._queued(change.woken)
        return change

    async def fail(
        self,
        task: TaskRow,
        reason: FailureReason,
        *,
        result: Mapping[str, Any] | None = None,
        session_id: str | None = None,
    ) -> TaskChange:
        change = await _persist(
            lambda: self.store.task_fail(
                task.id, reason=reason, result=result, session_id=session_id
            )
        )
        await self._finished(change)
        if change.children:
            self.log.info("retry queued", task_id=task.id, child_id=change.children[0].id)
            await self._queued(change.children)
        return change

    async def finish_cancelled(self, task: TaskRow) -> TaskChange:
        """The owner of a cancelled run stopped its agent: write cancelled."""
        change = await _persist(lambda: self.store.task_cancel(None, task.id))
        await self._finished(change)
        return change

    # -- by hand ---------------------------------------------------------------------------
    async def cancel(self, workspace_id: str, task_id: str) -> TaskChange:
        """A person's cancel. Queued: cancelled at once. Dispatched or running: marked, and
        when this daemon runs it, stopped and finalized before this returns (bounded by
        ``CANCEL_WAIT_S``). Refused when it had already ended otherwise."""
        change = await self.store.task_request_cancel(workspace_id, task_id)
        if change.wrote:
            await self._finished(change)
            return change
        if change.task is None or TaskStatus(change.task.status) not in ACTIVE:
            if change.ok:  # cancelled already: asking again is fine
                return change
            found = change.found.value if change.found else "missing"
            raise Refused(f"cannot cancel task {task_id}: it is {found}")
        await self._stop_here([task_id])
        return change

    async def _stop_here(self, task_ids: Sequence[str]) -> None:
        """Stop the runs of these tasks that this daemon holds and wait, at most
        ``CANCEL_WAIT_S``, until their runners have finalized them; another daemon's runs
        see the request on their rows and do the same."""
        stopping = [s for s in (self.signals.abort(t) for t in task_ids) if s is not None]
        if stopping:
            every = asyncio.gather(*(_ensure_future(s) for s in stopping))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(every), CANCEL_WAIT_S)

    async def retry(self, workspace_id: str, task_id: str) -> TaskRow:
        """A new queued attempt of a failed or cancelled task, even past max_attempts."""
        rearmed: list[IssueRow] = []
        try:
            child = await self.store.task_retry(workspace_id, task_id, rearmed)
        except InvalidTransition as exc:
            found = exc.outcome.found.value if exc.outcome.found else "missing"
            raise Refused(f"cannot retry task {task_id}: it is {found}") from None
        await self._queued([child])
        for issue in rearmed:  # its dependents wait again instead of being stranded
            await self.events.publish(workspace_id, IssueUpdated(issue=issue))
        return child

    async def move(self, workspace_id: str, task: TaskRow, to_status: str) -> None:
        """A board move. A person may cancel (→ cancelled) or re-queue a finished failure
        (→ queued, a retry); every other edge belongs to the daemon, which supervises the
        agent process behind it, so moving a row under it is refused."""
        target = parse_status(to_status)  # UnknownState for a token that is no status
        if target is TaskStatus.CANCELLED:
            await self.cancel(workspace_id, task.id)
            return
        if target is TaskStatus.QUEUED and task.status in ("failed", "cancelled"):
            await self.retry(workspace_id, task.id)
            return
        raise Refused(
            f"illegal transition {task.status} -> {target.value}: only cancel, or re-queue "
            "a failed or cancelled task, can be done by hand"
        )

    # -- safety nets -----------------------------------------------------------------------
    async def sweep(self, **limits: int) -> SweepReport:
        report = await self.store.sweep(**limits)
        for task in report.failed:
            await self._announce_end(task)
        for task in report.cancelled:
            await self._announce_end(task)
        await self._after_bulk(report.issues, report.children, any_requeued=bool(report.total))
        await self._stranded(report.stranded)
        return report

    async def recover(self, runtime_ids: Sequence[str]) -> RecoveryReport:
        report = await self.store.recover_runtimes(runtime_ids)
        for task in (*report.failed, *report.cancelled):
            await self._announce_end(task)
        await self._after_bulk(report.issues, report.children, any_requeued=bool(report.requeued))
        await self._stranded(report.stranded)
        return report

    # -- what a write implies ------------------------------------------------------------
    async def _queued(self, tasks: Iterable[TaskRow]) -> None:
        for task in tasks:
            await self.events.publish(
                task.workspace_id,
                TaskQueued(task_id=task.id, issue_id=task.issue_id, agent_id=task.agent_id),
            )
        self.signals.wake()

    async def _finished(self, change: TaskChange) -> None:
        if not change.wrote or change.task is None:
            return
        await self._announce_end(change.task)
        await self._issues_moved(change.task.workspace_id, change.issues)
        for comment in change.comments:  # the agent's answer, on its issue's thread
            await self.events.publish(change.task.workspace_id, CommentCreated(comment=comment))
        if change.task.autopilot_run_id is not None and not change.children:
            await self._run_ended(change.task)
        await self._stranded(change.stranded)
        # no wake: what a finish frees (a slot, the agent's cap, the (issue, agent) guard)
        # is used when the run leaves its dispatcher, which looks again then; a claim pass
        # here could not use the slot yet and only queues behind the next task's writes

    async def _announce_end(self, task: TaskRow) -> None:
        status = TaskStatus(task.status)
        ended = task.finished_at or self.clock.now_ms()
        self.throughput.record(ended, success=status is TaskStatus.DONE)
        # a failure is worth a look: `hangar logs tail --level warn` shows each one and why
        report = self.log.warning if status is TaskStatus.FAILED else self.log.info
        report(
            "task finished",
            task_id=task.id,
            status=task.status,
            failure_reason=task.failure_reason,
            error=(task.result or {}).get("error"),
        )
        await self.events.publish(
            task.workspace_id,
            TaskFinished(
                task_id=task.id,
                result=_RESULT_OF.get(status, "failure"),
                status=task.status,
                failure_reason=task.failure_reason,
                ended_at=ended,
            ),
        )

    async def _run_ended(self, task: TaskRow) -> None:
        """The task of an autopilot run ended for good: so did the run (the store's cascade)."""
        status = _RUN_STATUS.get(TaskStatus(task.status))
        owner = await self.store.autopilots.owner_of_run(task.autopilot_run_id or "")
        if status is None or owner is None:
            return
        await self.events.publish(
            task.workspace_id,
            AutopilotRunChanged(
                autopilot_id=owner[0],
                autopilot_name=owner[1],
                status=status,
                run_id=task.autopilot_run_id,
                task_id=task.id,
            ),
        )

    async def _issues_moved(self, workspace_id: str, issues: Iterable[IssueRow]) -> None:
        for issue in issues:
            await self.events.publish(workspace_id, IssueUpdated(issue=issue))
            self._issue_written(issue)

    async def _after_bulk(
        self, issues: Sequence[IssueRow], children: Sequence[TaskRow], *, any_requeued: bool
    ) -> None:
        for issue in issues:
            await self.events.publish(issue.workspace_id, IssueUpdated(issue=issue))
            self._issue_written(issue)
        if children:
            await self._queued(children)
        elif any_requeued:  # requeued work, or the caps a dead daemon's rows held
            self.signals.wake()


def _ensure_future(awaitable: Awaitable[None]) -> asyncio.Future[None]:
    return asyncio.ensure_future(awaitable)


async def _persist(write: Callable[[], Awaitable[T]], attempts: int = 4) -> T:
    """A terminal write must land: a transient store error is retried with backoff, so a
    task is not left running (and holding its agent's slot) because of one hiccup."""
    delay = 0.2
    for attempt in range(1, attempts + 1):
        try:
            return await write()
        except Exception:
            if attempt == attempts:
                raise
            await asyncio.sleep(delay)
            delay *= 4
    raise AssertionError("unreachable")
