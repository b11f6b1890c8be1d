from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from hangar.core.fsm import (
    ACTIVE,
    PENDING,
    TERMINAL,
    TRANSITIONS,
    FinalizeKind,
    FinalizeOutcome,
    IllegalTransition,
    TaskStatus,
    UnknownState,
    check_transition,
    is_legal,
    parse_status,
    resolve_noop,
    sources_of,
)

Q, D, R = TaskStatus.QUEUED, TaskStatus.DISPATCHED, TaskStatus.RUNNING
DONE, F, C = TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELLED
ALL = list(TaskStatus)


class TestTable:
    def test_exactly_ten_edges(self) -> None:
        assert {
            (Q, D),
            (D, R),
            (D, Q),
            (R, DONE),
            (R, F),
            (R, C),
            (Q, F),
            (D, F),
            (Q, C),
            (D, C),
        } == TRANSITIONS
        assert len(TRANSITIONS) == 10

    def test_terminal_states_have_no_outgoing_edges(self) -> None:
        assert not [edge for edge in TRANSITIONS if edge[0] in TERMINAL]

    def test_no_self_loops(self) -> None:
        assert all(a is not b for a, b in TRANSITIONS)

    def test_every_state_is_reachable_from_queued(self) -> None:
        seen, frontier = {Q}, [Q]
        while frontier:
            here = frontier.pop()
            for a, b in TRANSITIONS:
                if a is here and b not in seen:
                    seen.add(b)
                    frontier.append(b)
        assert seen == set(TaskStatus)

    def test_groups(self) -> None:
        assert {s for s in TaskStatus if s.is_terminal} == {DONE, F, C}
        assert {s for s in TaskStatus if s.is_pending} == {Q, D}
        assert {D, R} == ACTIVE
        assert PENDING | {R} | TERMINAL == set(TaskStatus)

    @pytest.mark.parametrize(
        ("target", "sources"),
        [
            (Q, {D}),
            (D, {Q}),
            (R, {D}),
            (DONE, {R}),
            (F, {Q, D, R}),
            (C, {Q, D, R}),
        ],
    )
    def test_sources_of(self, target: TaskStatus, sources: set[TaskStatus]) -> None:
        assert sources_of(target) == sources

    @pytest.mark.parametrize("a", ALL)
    @pytest.mark.parametrize("b", ALL)
    def test_check_transition_agrees_with_the_table(self, a: TaskStatus, b: TaskStatus) -> None:
        assert is_legal(a, b) == ((a, b) in TRANSITIONS)
        if is_legal(a, b):
            check_transition(a, b)
        else:
            with pytest.raises(IllegalTransition) as info:
                check_transition(a, b)
            assert (info.value.from_status, info.value.to_status) == (a, b)
            assert str(info.value) == f"illegal transition {a} -> {b}"
            assert isinstance(info.value, ValueError)

    def test_wire_tokens(self) -> None:
        assert [s.value for s in TaskStatus] == [
            "queued",
            "dispatched",
            "running",
            "done",
            "failed",
            "cancelled",
        ]
        assert parse_status("running") is R

    @pytest.mark.parametrize("token", ["", "RUNNING", "Running", "complete", "canceled", " done"])
    def test_unknown_state(self, token: str) -> None:
        with pytest.raises(UnknownState) as info:
            parse_status(token)
        assert info.value.token == token


class TestResolveNoop:
    @pytest.mark.parametrize("target", [DONE, F, C])
    def test_already_terminal(self, target: TaskStatus) -> None:
        out = resolve_noop(target, target)
        assert out == FinalizeOutcome(FinalizeKind.ALREADY_TERMINAL, target, target)
        assert out.ok
        assert not out.wrote

    @pytest.mark.parametrize(("found", "target"), [(DONE, C), (C, DONE), (F, DONE), (DONE, Q)])
    def test_terminal_mismatch(self, found: TaskStatus, target: TaskStatus) -> None:
        out = resolve_noop(found, target)
        assert out.kind is FinalizeKind.TERMINAL_MISMATCH
        assert (out.found, out.target) == (found, target)
        assert not out.ok

    def test_already_started(self) -> None:
        out = resolve_noop(R, R)
        assert out.kind is FinalizeKind.ALREADY_STARTED
        assert out.ok
        assert not out.wrote

    @pytest.mark.parametrize(("found", "target"), [(Q, R), (Q, DONE), (D, DONE), (Q, Q), (D, D)])
    def test_illegal_state(self, found: TaskStatus, target: TaskStatus) -> None:
        out = resolve_noop(found, target)
        assert out.kind is FinalizeKind.ILLEGAL_STATE
        assert not out.ok

    def test_not_found(self) -> None:
        out = resolve_noop(None, DONE)
        assert out == FinalizeOutcome(FinalizeKind.NOT_FOUND, None, DONE)
        assert not out.ok

    def test_transitioned_is_ok_and_wrote(self) -> None:
        out = FinalizeOutcome(FinalizeKind.TRANSITIONED, R, DONE)
        assert out.ok
        assert out.wrote


class SimStore:
    """The store's finalize, minus SQL: a conditional update, then resolve_noop on a miss."""

    def __init__(self) -> None:
        self.rows: dict[int, TaskStatus] = {}

    def insert(self) -> int:
        task_id = len(self.rows)
        self.rows[task_id] = Q
        return task_id

    def transition(self, task_id: int, target: TaskStatus) -> FinalizeOutcome:
        found = self.rows.get(task_id)
        if found is not None and found in sources_of(target):  # UPDATE … WHERE status IN (…)
            check_transition(found, target)
            self.rows[task_id] = target
            return FinalizeOutcome(FinalizeKind.TRANSITIONED, found, target)
        return resolve_noop(found, target)


class TaskLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = SimStore()
        for _ in range(3):
            self.store.insert()
        self.log: list[tuple[TaskStatus, TaskStatus]] = []

    @rule()
    def add_task(self) -> None:
        self.store.insert()

    @rule(index=st.integers(min_value=0, max_value=63), goal=st.sampled_from(ALL))
    def transition(self, index: int, goal: TaskStatus) -> None:
        task_id = index % len(self.store.rows)
        before = self.store.rows[task_id]
        out = self.store.transition(task_id, goal)
        after = self.store.rows[task_id]

        assert out.found is before
        assert out.target is goal
        if (before, goal) in TRANSITIONS:
            assert out.kind is FinalizeKind.TRANSITIONED
            assert after is goal
            self.log.append((before, after))
        else:
            assert after is before
            assert not out.wrote
        if before.is_terminal:
            assert after is before  # terminal states never change
            expected = (
                FinalizeKind.ALREADY_TERMINAL if goal is before else FinalizeKind.TERMINAL_MISMATCH
            )
            assert out.kind is expected
        elif before is R and goal is R:
            assert out.kind is FinalizeKind.ALREADY_STARTED
        elif (before, goal) not in TRANSITIONS:
            assert out.kind is FinalizeKind.ILLEGAL_STATE

    @rule(index=st.integers(min_value=0, max_value=63), data=st.data())
    def repeat_finalize(self, index: int, data: st.DataObject) -> None:
        task_id = index % len(self.store.rows)
        status = self.store.rows[task_id]
        if not status.is_terminal:  # every live state has an edge to failed
            first = self.store.transition(task_id, F)
            assert first.kind is FinalizeKind.TRANSITIONED
            self.log.append((status, F))
            status = F
        again = self.store.transition(task_id, status)
        assert again.kind is FinalizeKind.ALREADY_TERMINAL
        assert again.ok
        other = data.draw(st.sampled_from(sorted(TERMINAL - {status})))
        lost = self.store.transition(task_id, other)
        assert lost.kind is FinalizeKind.TERMINAL_MISMATCH
        assert not lost.ok
        assert self.store.rows[task_id] is status

    @rule(goal=st.sampled_from(ALL))
    def missing_task(self, goal: TaskStatus) -> None:
        out = self.store.transition(10_000, goal)
        assert out.kind is FinalizeKind.NOT_FOUND
        assert 10_000 not in self.store.rows

    @invariant()
    def statuses_are_members(self) -> None:
        assert all(isinstance(s, TaskStatus) for s in self.store.rows.values())

    @invariant()
    def every_change_is_a_legal_edge(self) -> None:
        assert all(edge in TRANSITIONS for edge in self.log)


TaskLifecycle.TestCase.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
test_task_lifecycle = TaskLifecycle.TestCase
