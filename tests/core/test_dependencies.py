"""The blocked rule, self-blocks and cycles (core/dependencies.py)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hangar.core.dependencies import (
    Blocker,
    BlockerStanding,
    DependencyCycle,
    DependencyRefused,
    SelfBlock,
    blockage,
    check_edge,
    find_cycle,
    path_to,
    standing,
)
from hangar.core.fsm import TaskStatus
from hangar.core.vocab import IssueState

OPEN, WIP, DONE, CANCELLED = (
    IssueState.OPEN,
    IssueState.IN_PROGRESS,
    IssueState.DONE,
    IssueState.CANCELLED,
)


@pytest.mark.parametrize(
    ("state", "last_task", "expected"),
    [
        (DONE, TaskStatus.DONE, BlockerStanding.DONE),
        (DONE, None, BlockerStanding.DONE),  # closed done by hand
        (OPEN, None, BlockerStanding.PENDING),
        (OPEN, TaskStatus.QUEUED, BlockerStanding.PENDING),
        (WIP, TaskStatus.RUNNING, BlockerStanding.PENDING),
        (OPEN, TaskStatus.FAILED, BlockerStanding.FAILED),
        (OPEN, TaskStatus.CANCELLED, BlockerStanding.CANCELLED),
        (CANCELLED, None, BlockerStanding.CANCELLED),  # closed without done
        (CANCELLED, TaskStatus.DONE, BlockerStanding.CANCELLED),
        (None, None, BlockerStanding.DELETED),
    ],
)
def test_standing_of_a_blocker(
    state: IssueState | None, last_task: TaskStatus | None, expected: BlockerStanding
) -> None:
    assert standing(Blocker("b", state, last_task)) is expected


def test_no_blockers_or_all_done_is_not_blocked() -> None:
    assert not blockage([]).blocked
    verdict = blockage([Blocker("a", DONE), Blocker("b", DONE, TaskStatus.DONE)])
    assert not verdict.blocked and verdict.reason is None


def test_one_unfinished_blocker_blocks() -> None:
    verdict = blockage([Blocker("a", DONE), Blocker("b", WIP, TaskStatus.RUNNING)])
    assert verdict.blocked
    assert verdict.waiting == ("b",)
    assert verdict.reason == "blocked by b"


@pytest.mark.parametrize(
    ("blocker", "word"),
    [
        (Blocker("b", OPEN, TaskStatus.FAILED), "failed"),
        (Blocker("b", OPEN, TaskStatus.CANCELLED), "cancelled"),
        (Blocker("b", CANCELLED), "cancelled"),
        (Blocker("b", None), "deleted"),
    ],
)
def test_a_blocker_that_ended_without_done_keeps_it_blocked_and_says_so(
    blocker: Blocker, word: str
) -> None:
    verdict = blockage([Blocker("a", OPEN), blocker])
    assert verdict.blocked
    assert verdict.stranded == (("b", BlockerStanding(word)),)
    assert verdict.reason == f"blocked: b {word}"  # the stranding one is named first


def test_a_retried_blocker_re_arms_it() -> None:
    # the retry's queued task is the newest: pending again, no longer stranded
    verdict = blockage([Blocker("b", OPEN, TaskStatus.QUEUED)])
    assert verdict.blocked and not verdict.stranded


def test_self_block_is_refused() -> None:
    with pytest.raises(SelfBlock, match="i1 cannot block itself") as caught:
        check_edge("i1", "i1", [])
    assert isinstance(caught.value, DependencyRefused)
    assert isinstance(caught.value, ValueError)


def test_a_cycle_is_refused_naming_it() -> None:
    edges = [("b", "c"), ("c", "a")]  # b waits for c, c waits for a
    with pytest.raises(DependencyCycle) as caught:
        check_edge("a", "b", edges)  # a waits for b would close a → b → c → a
    assert caught.value.cycle == ("a", "b", "c", "a")
    assert "a -> b -> c -> a" in str(caught.value)


def test_a_two_cycle_and_a_diamond() -> None:
    with pytest.raises(DependencyCycle) as caught:
        check_edge("a", "b", [("b", "a")])
    assert caught.value.cycle == ("a", "b", "a")
    diamond = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]
    check_edge("a", "d", diamond)  # a shortcut is no loop
    check_edge("a", "b", diamond)  # nor is an edge that is already there
    assert find_cycle(diamond) is None


def test_find_cycle_names_a_loop() -> None:
    cycle = find_cycle([("x", "y"), ("a", "b"), ("b", "c"), ("c", "a")])
    assert cycle is not None
    assert cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    assert find_cycle([("a", "a")]) == ("a", "a")


_nodes = st.sampled_from("abcdefg")
_edges = st.lists(st.tuples(_nodes, _nodes), max_size=25)


@given(_edges)
def test_edges_added_through_check_edge_never_form_a_cycle(
    candidates: list[tuple[str, str]],
) -> None:
    accepted: list[tuple[str, str]] = []
    for issue, blocker in candidates:
        try:
            check_edge(issue, blocker, accepted)
        except SelfBlock:
            assert issue == blocker
            continue
        except DependencyCycle as refused:
            cycle = refused.cycle
            assert cycle[0] == cycle[-1] == issue and cycle[1] == blocker
            # every step of the named loop is the new edge or an accepted one
            steps = set(itertools.pairwise(cycle))
            assert steps - {(issue, blocker)} <= set(accepted)
            continue
        accepted.append((issue, blocker))
        assert find_cycle(accepted) is None
    for issue, blocker in accepted:
        assert path_to(accepted, blocker, issue) is None


@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.sampled_from(IssueState)),
            st.one_of(st.none(), st.sampled_from(TaskStatus)),
        ),
        max_size=6,
    )
)
def test_blocked_exactly_when_some_blocker_is_not_done(
    rows: list[tuple[IssueState | None, TaskStatus | None]],
) -> None:
    blockers = [Blocker(f"b{n}", state, task) for n, (state, task) in enumerate(rows)]
    verdict = blockage(blockers)
    assert verdict.blocked == any(b.state is not IssueState.DONE for b in blockers)
    assert (verdict.reason is None) == (not verdict.blocked)
    named = set(verdict.waiting) | {bid for bid, _ in verdict.stranded}
    assert named == {b.id for b in blockers if b.state is not IssueState.DONE}
