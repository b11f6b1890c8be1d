"""A hypothesis state machine over issues with random blockers (docs/lifecycle.md#dependencies):
issues are filed (some waiting for others), assigned, blocked and unblocked by hand, their
tasks completed, failed (for good or with a retry), cancelled, retried, and blockers closed or
reopened, in any order. After every step:

- no task of a blocked issue is queued;
- an issue that is open, assigned to an agent and whose blockers are all done has a task
  queued, dispatched or running, unless it already ran (a task of it ended) — a person
  decides what follows a failure, and nothing may be lost on the way in.

Every example starts from a chain of assigned issues, so a lost or early wake-up is a few
steps away: with the wake-up removed from the finalize, or a blocked create queuing its
task, the machine fails within its budget (10 examples: checked three times each way).

Each example runs on a fresh SQLite database (a copy of the migrated template), so this one
runs on SQLite only; the statements it drives are covered on both backends by
``test_dependencies.py``.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from hangar.core.clock import FixedClock
from hangar.core.dependencies import DependencyRefused
from hangar.core.failures import FailureReason
from hangar.core.fsm import ACTIVE, PENDING, TaskStatus
from hangar.core.ids import SequentialIdGen
from hangar.core.issue_fsm import IssueMoveRefused
from hangar.store import Conflict, InvalidTransition, InvalidValue, Store

from .conftest import T0, make_world

#: what a refused step raises; the machine carries on from the same state
REFUSALS = (Conflict, DependencyRefused, InvalidValue, InvalidTransition, IssueMoveRefused)
LIVE = {s.value for s in PENDING | ACTIVE}


def dependency_machine(template: Path, scratch: Path) -> type[RuleBasedStateMachine]:
    counter = iter(range(10**9))

    class Dependencies(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            db = scratch / f"db-{next(counter)}.sqlite"
            shutil.copyfile(template, db)
            self.store: Store = self.run(
                Store.open(
                    f"sqlite+aiosqlite:///{db}",
                    clock=FixedClock(T0),
                    ids=SequentialIdGen(),
                    migrate=False,
                )
            )
            self.world = self.run(make_world(self.store, FixedClock(T0)))
            self.issues: list[str] = []

        def run(self, coro: Any) -> Any:
            return self.loop.run_until_complete(coro)

        def teardown(self) -> None:
            self.run(self.store.close())
            self.loop.close()

        @property
        def ws(self) -> str:
            return self.world.ws.id

        def attempt(self, coro: Any) -> Any:
            try:
                return self.run(coro)
            except REFUSALS:
                return None

        async def _tasks(self, issue_id: str) -> list[Any]:
            return await self.store.task_list(self.ws, issue_id=issue_id)

        async def _queued(self, issue_id: str) -> Any:
            return next(
                (t for t in await self._tasks(issue_id) if t.status == TaskStatus.QUEUED), None
            )

        # -- steps ---------------------------------------------------------------------------
        @initialize(length=st.integers(2, 4))
        def chain(self, length: int) -> None:
            """Every example starts from a chain of assigned issues, each waiting for the one
            before: the wake-ups are then a step or two away, not a lucky draw."""
            for n in range(length):
                issue, _ = self.run(
                    self.store.issue_create(
                        self.ws,
                        title=f"chain {n}",
                        creator=self.world.creator,
                        assign_agent_id=self.world.agent.id,
                        blocked_by=self.issues[-1:],
                    )
                )
                self.issues.append(issue.id)

        @rule(assign=st.booleans(), picks=st.lists(st.integers(0, 20), min_size=1, max_size=2))
        def create(self, assign: bool, picks: list[int]) -> None:
            blockers = [self.issues[p % len(self.issues)] for p in picks] if self.issues else []
            issue, _ = self.run(
                self.store.issue_create(
                    self.ws,
                    title=f"issue {len(self.issues)}",
                    creator=self.world.creator,
                    assign_agent_id=self.world.agent.id if assign else None,
                    blocked_by=blockers,
                )
            )
            self.issues.append(issue.id)

        @precondition(lambda self: self.issues)
        @rule(i=st.integers(0, 20))
        def assign(self, i: int) -> None:
            issue_id = self.issues[i % len(self.issues)]
            self.attempt(self.store.issue_edit(self.ws, issue_id, assignee=self.world.agent.id))

        @precondition(lambda self: len(self.issues) > 1)
        @rule(i=st.integers(0, 20), j=st.integers(0, 20))
        def block(self, i: int, j: int) -> None:
            a, b = self.issues[i % len(self.issues)], self.issues[j % len(self.issues)]
            self.attempt(self.store.dependencies.block(self.ws, a, b))

        @precondition(lambda self: len(self.issues) > 1)
        @rule(i=st.integers(0, 20), j=st.integers(0, 20))
        def unblock(self, i: int, j: int) -> None:
            a, b = self.issues[i % len(self.issues)], self.issues[j % len(self.issues)]
            self.attempt(self.store.dependencies.unblock(self.ws, a, b))

        @precondition(lambda self: self.issues)
        @rule(i=st.integers(0, 20), how=st.sampled_from(["done", "failed", "offline", "cancel"]))
        def finish(self, i: int, how: str) -> None:
            """The issue's queued task runs and ends ``how``."""
            issue_id = self.issues[i % len(self.issues)]
            task = self.run(self._queued(issue_id))
            if task is None:
                return
            self.run(self.store.task_transition(self.ws, task.id, "dispatched"))
            self.run(self.store.task_start(task.id, work_dir=None))
            if how == "done":
                self.run(self.store.task_complete(task.id, result=None, session_id=None))
            elif how == "cancel":
                self.run(self.store.task_cancel(self.ws, task.id))
            else:
                reason = (
                    FailureReason.AGENT_ERROR if how == "failed" else FailureReason.RUNTIME_OFFLINE
                )
                self.run(self.store.task_fail(task.id, reason=reason, result=None, session_id=None))

        @precondition(lambda self: self.issues)
        @rule(i=st.integers(0, 20))
        def retry(self, i: int) -> None:
            issue_id = self.issues[i % len(self.issues)]
            ended = [
                t
                for t in self.run(self._tasks(issue_id))
                if t.status in (TaskStatus.FAILED, TaskStatus.CANCELLED)
            ]
            if ended:
                self.attempt(self.store.task_retry(self.ws, ended[0].id))

        @precondition(lambda self: self.issues)
        @rule(i=st.integers(0, 20), state=st.sampled_from(["done", "cancelled", "open"]))
        def move(self, i: int, state: str) -> None:
            """A person closes an issue, or reopens it."""
            issue_id = self.issues[i % len(self.issues)]
            self.attempt(self.store.issue_edit(self.ws, issue_id, state=state))

        # -- what must always hold ----------------------------------------------------------
        @invariant()
        def no_blocked_issue_has_a_queued_task_and_no_ready_one_is_forgotten(self) -> None:
            rows = self.run(self.store.issue_list(self.ws))
            every = self.run(self.store.task_list(self.ws))
            for row in rows:
                statuses = [t.status for t in every if t.issue_id == row.id]
                if row.blocked is not None:
                    assert TaskStatus.QUEUED not in statuses, (row, statuses)
                    continue
                assigned = (row.assignee or "").startswith("agent:")
                ran = any(s not in LIVE for s in statuses)
                if row.state == "open" and assigned and not ran:
                    assert any(s in LIVE for s in statuses), (row, statuses)
                assert statuses.count(TaskStatus.QUEUED) <= 1, (row, statuses)

    return Dependencies


@pytest.mark.timeout(400)  # shrinking a failure on a loaded machine takes a while
def test_dependencies_state_machine(_sqlite_template: Path, tmp_path: Path) -> None:
    machine = dependency_machine(_sqlite_template, tmp_path)
    machine.TestCase.settings = settings(
        max_examples=10,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    machine.TestCase().runTest()
