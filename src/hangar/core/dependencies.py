"""Issue dependencies: when an issue is blocked, and which edges may be added.

An edge ``(issue, blocker)`` says ``issue`` waits for ``blocker``. An issue is blocked while
any of its blockers is not done. A blocker that ends any other way (its last task failed or
was cancelled, the issue itself was cancelled, or it is gone) does not release its
dependents: they stay blocked, with a reason that names it ("blocked: <blocker> failed"), so
nothing is silently stranded and nothing is woken early. Retrying the blocker or removing
the edge by hand re-arms the dependent.

Edges stay acyclic and never loop on one issue; the store checks each new edge here before
it writes it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from hangar.core.fsm import TaskStatus
from hangar.core.vocab import IssueState

__all__ = [
    "Blockage",
    "Blocker",
    "BlockerStanding",
    "DependencyCycle",
    "DependencyRefused",
    "SelfBlock",
    "blockage",
    "check_edge",
    "find_cycle",
    "path_to",
    "standing",
]


class BlockerStanding(enum.StrEnum):
    """How one blocker looks to the issues it blocks."""

    DONE = "done"  # releases its dependents
    PENDING = "pending"  # not finished yet: open or in progress, no failed ending
    FAILED = "failed"  # its last task failed and nothing is queued or running again
    CANCELLED = "cancelled"  # the issue was cancelled (closed), or its last task was
    DELETED = "deleted"  # the issue no longer exists

    @property
    def stranded(self) -> bool:
        """Ended without done: the dependent stays blocked until a person acts."""
        return self in _STRANDED


_STRANDED = frozenset({BlockerStanding.FAILED, BlockerStanding.CANCELLED, BlockerStanding.DELETED})


@dataclass(frozen=True, slots=True)
class Blocker:
    """What the rule needs to know of one blocker.

    ``state`` is ``None`` when the issue is gone; ``last_task`` is the status of its newest
    task (``None`` when it has none).
    """

    id: str
    state: IssueState | None
    last_task: TaskStatus | None = None


def standing(blocker: Blocker) -> BlockerStanding:
    state = blocker.state
    if state is None:
        return BlockerStanding.DELETED
    if state is IssueState.DONE:
        return BlockerStanding.DONE
    if state is IssueState.CANCELLED:
        return BlockerStanding.CANCELLED
    if blocker.last_task is TaskStatus.FAILED:
        return BlockerStanding.FAILED
    if blocker.last_task is TaskStatus.CANCELLED:
        return BlockerStanding.CANCELLED
    return BlockerStanding.PENDING


@dataclass(frozen=True, slots=True)
class Blockage:
    """The verdict for one issue: blocked or not, and why."""

    waiting: tuple[str, ...]  # blockers not finished yet
    stranded: tuple[tuple[str, BlockerStanding], ...]  # blockers that ended without done

    @property
    def blocked(self) -> bool:
        return bool(self.waiting or self.stranded)

    @property
    def reason(self) -> str | None:
        """``None`` when not blocked; a stranding blocker is named before waiting ones."""
        if self.stranded:
            return "; ".join(f"blocked: {bid} {how.value}" for bid, how in self.stranded)
        if self.waiting:
            return "blocked by " + ", ".join(self.waiting)
        return None


def blockage(blockers: Iterable[Blocker]) -> Blockage:
    """Whether an issue with these blockers is blocked (any not done), in the order given."""
    waiting: list[str] = []
    stranded: list[tuple[str, BlockerStanding]] = []
    for blocker in blockers:
        how = standing(blocker)
        if how is BlockerStanding.PENDING:
            waiting.append(blocker.id)
        elif how.stranded:
            stranded.append((blocker.id, how))
    return Blockage(tuple(waiting), tuple(stranded))


class DependencyRefused(ValueError):
    """An edge that may not be added (the RPC edge answers -32602)."""


class SelfBlock(DependencyRefused):
    def __init__(self, issue_id: str) -> None:
        self.issue_id = issue_id
        super().__init__(f"issue {issue_id} cannot block itself")


class DependencyCycle(DependencyRefused):
    """Adding the edge would close a loop; ``cycle`` runs issue → blocker → … → issue."""

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = tuple(cycle)
        super().__init__("dependency cycle: " + " -> ".join(self.cycle))


def _graph(edges: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    graph: dict[str, list[str]] = {}
    for issue, blocker in edges:
        graph.setdefault(issue, []).append(blocker)
    for targets in graph.values():
        targets.sort()
    return graph


def path_to(
    edges: Iterable[tuple[str, str]] | Mapping[str, Sequence[str]], start: str, goal: str
) -> tuple[str, ...] | None:
    """A shortest chain ``start → … → goal`` along "waits for" edges, or ``None``."""
    graph = edges if isinstance(edges, Mapping) else _graph(edges)
    parent: dict[str, str | None] = {start: None}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for nxt in graph.get(node, ()):
                if nxt in parent:
                    continue
                parent[nxt] = node
                if nxt == goal:
                    chain = [goal]
                    step = parent[goal]
                    while step is not None:
                        chain.append(step)
                        step = parent[step]
                    return tuple(reversed(chain))
                following.append(nxt)
        frontier = following
    return None if start != goal else (start,)


def check_edge(issue_id: str, blocker_id: str, edges: Iterable[tuple[str, str]]) -> None:
    """Refuse ``issue_id`` waiting for ``blocker_id`` if it blocks itself or closes a loop.

    ``edges`` are the workspace's existing ``(issue, blocker)`` pairs. An edge already there
    passes (adding it again changes nothing).
    """
    if issue_id == blocker_id:
        raise SelfBlock(issue_id)
    chain = path_to(edges, blocker_id, issue_id)
    if chain is not None:
        raise DependencyCycle((issue_id, *chain))


def find_cycle(edges: Iterable[tuple[str, str]]) -> tuple[str, ...] | None:
    """Some loop in the edge set, as ``a → b → … → a``, or ``None`` when it is acyclic."""
    graph = _graph(edges)
    white, grey, black = 0, 1, 2
    colour: dict[str, int] = {}
    for root in sorted(graph):
        if colour.get(root, white) != white:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = [root]
        colour[root] = grey
        while stack:
            node, index = stack[-1]
            targets = graph.get(node, [])
            if index == len(targets):
                stack.pop()
                path.pop()
                colour[node] = black
                continue
            stack[-1] = (node, index + 1)
            nxt = targets[index]
            seen = colour.get(nxt, white)
            if seen == grey:
                return (*path[path.index(nxt) :], nxt)
            if seen == white:
                colour[nxt] = grey
                stack.append((nxt, 0))
                path.append(nxt)
    return None
