"""Editing an issue by hand: every change in one transaction, returning what it wrote
(docs/lifecycle.md#editing-an-issue).

What an edit implies is written with it: a task queued for an agent that is given the issue,
the previous agent's pending task cancelled (queued) or asked to stop (dispatched), and on
closing every task of the issue that has not ended cancelled or asked to stop, each with its
reason in its transcript. A task that holds a process is only *asked*: the daemon running it
stops it and finalizes (docs/lifecycle.md#cancel).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import RowMapping, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hangar.core import names
from hangar.core.failures import FailureReason
from hangar.core.fsm import ACTIVE, PENDING, TaskStatus
from hangar.core.issue_fsm import CLOSED, check_move, parse_state
from hangar.core.vocab import IssueState, MessageKind
from hangar.proto.rows import IssueRow, TaskMessageRow, TaskRow
from hangar.store import agents, blockage, dependencies, tasks, transcript
from hangar.store.context import StoreContext
from hangar.store.convert import dump_json, issue_row, parse_actor, task_row
from hangar.store.errors import Blocked, Conflict, InvalidValue, NotFound
from hangar.store.finalize import settle
from hangar.store.issues import UNSET, Unset
from hangar.store.schema import agent_task_queue, issue

__all__ = ["IssueEdit", "edit"]

_T, _I = agent_task_queue, issue
_Q, _D, _C = TaskStatus.QUEUED, TaskStatus.DISPATCHED, TaskStatus.CANCELLED


@dataclass(frozen=True)
class IssueEdit:
    """What one edit wrote, as the rows look now.

    ``changed`` is false when the edit asked for what already was; ``queued`` the task of
    an agent that was given the issue; ``cancelled`` the tasks it ended (they were queued),
    ``requested`` those it asked to stop (dispatched or running: their daemon finalizes),
    ``messages`` the reason it wrote into each one's transcript.
    """

    issue: IssueRow
    changed: bool = False
    queued: TaskRow | None = None
    cancelled: list[TaskRow] = field(default_factory=list)
    requested: list[TaskRow] = field(default_factory=list)
    messages: list[TaskMessageRow] = field(default_factory=list)
    #: why giving it to an agent queued nothing: it is blocked (core/dependencies.py); the
    #: last blocker's finalize queues the task
    blocked: str | None = None
    #: dependents' tasks queued because closing it done finished their last blocker
    woken: list[TaskRow] = field(default_factory=list)
    #: open dependents it left blocked by being closed cancelled (or its task cancelled)
    stranded: list[blockage.Stranding] = field(default_factory=list)


def _checked_values(
    title: str | Unset, description: str | Unset | None, priority: int | Unset
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    try:
        if not isinstance(title, Unset):
            values["title"] = names.validate_title(title)
        if not isinstance(description, Unset):
            if description is not None and "\x00" in description:
                raise ValueError("description contains a NUL byte")
            values["description"] = description or None  # "" clears it
        if not isinstance(priority, Unset):
            tasks.check_priority(priority)
            values["priority"] = priority
    except ValueError as exc:
        raise InvalidValue(str(exc)) from None
    return values


async def _locked_issue(conn: AsyncConnection, workspace_id: str, issue_id: str) -> RowMapping:
    """The issue, locked for this transaction (PostgreSQL; SQLite writers take turns).

    Its unfinished tasks are locked first, in id order: a finalize locks its task and then
    the issue, so taking them in the same order means the two wait for each other instead
    of deadlocking."""
    unfinished = (
        select(_T.c.id)
        .where(
            _T.c.issue_id == issue_id,
            _T.c.workspace_id == workspace_id,
            _T.c.status.in_(tasks.values_of((_Q, _D, TaskStatus.RUNNING))),
        )
        .order_by(_T.c.id)
        .with_for_update()
    )
    await conn.execute(unfinished)
    stmt = select(_I).where(_I.c.id == issue_id, _I.c.workspace_id == workspace_id)
    found = (await conn.execute(stmt.with_for_update())).mappings().first()
    if found is None:
        raise NotFound("issue", issue_id)
    return found


@dataclass
class _Cancels:
    cancelled: list[RowMapping] = field(default_factory=list)
    requested: list[RowMapping] = field(default_factory=list)
    messages: list[TaskMessageRow] = field(default_factory=list)


async def _cancel_tasks(
    conn: AsyncConnection,
    ctx: StoreContext,
    done: _Cancels,
    *,
    workspace_id: str,
    issue_id: str,
    why: str,
    agent_id: str | None = None,
    stop: frozenset[TaskStatus] = frozenset({_D}),
) -> None:
    """Queued tasks of the issue (of one agent, if named) → cancelled now; those in ``stop``
    marked for their daemon to stop. ``why`` goes into each one's transcript."""
    scope = [_T.c.issue_id == issue_id, _T.c.workspace_id == workspace_id]
    if agent_id is not None:
        scope.append(_T.c.agent_id == agent_id)
    now = ctx.now()
    reason = f"cancelled: {why}"
    ended = (
        tasks.transition(_C, {_Q})
        .where(*scope)
        .values(
            finished_at=now,
            failure_reason=FailureReason.USER_CANCEL.value,
            result=dump_json({"content": "", "error": reason}),
        )
    )
    cancelled = list((await conn.execute(ended.returning(*_T.c))).mappings())
    requested: list[RowMapping] = []
    if stop:
        mark = (
            update(_T)
            .where(*scope, _T.c.status.in_(tasks.values_of(stop)))
            .values(cancel_requested_at=func.coalesce(_T.c.cancel_requested_at, now))
        )
        requested = list((await conn.execute(mark.returning(*_T.c))).mappings())
    for rows, text in ((cancelled, reason), (requested, f"cancel requested: {why}")):
        for row in sorted(rows, key=lambda r: r["id"]):
            made = await transcript.append(conn, ctx, row["id"], [(MessageKind.ERROR, text)])
            done.messages.extend(made)
    done.cancelled.extend(sorted(cancelled, key=lambda r: r["id"]))
    done.requested.extend(sorted(requested, key=lambda r: r["id"]))


async def _pending_of(
    conn: AsyncConnection, issue_id: str, agent_id: str
) -> tuple[str, str] | None:
    row = (
        await conn.execute(
            select(_T.c.id, _T.c.status).where(
                _T.c.issue_id == issue_id,
                _T.c.agent_id == agent_id,
                _T.c.status.in_(tasks.values_of(PENDING)),
            )
        )
    ).first()
    return None if row is None else (row.id, row.status)


async def _who(
    conn: AsyncConnection, workspace_id: str, ref: str
) -> tuple[str, str, RowMapping | None]:
    """(type, id, the agent's row) of ``member:<id>``, ``agent:<id or name>``, or a bare agent
    id or name; an agent of another workspace is missing."""
    kind, ident = parse_actor(ref if ":" in ref else f"agent:{ref}")
    if kind == "member":
        return kind, ident, None
    found = await agents.get_mapping(conn, workspace_id, ident)
    if found is None:
        raise NotFound("agent", ident)
    return kind, found["id"], found


async def edit(
    conn: AsyncConnection,
    ctx: StoreContext,
    workspace_id: str,
    issue_id: str,
    *,
    title: str | Unset = UNSET,
    description: str | Unset | None = UNSET,
    priority: int | Unset = UNSET,
    state: str | Unset = UNSET,
    assignee: str | Unset | None = UNSET,
) -> IssueEdit:
    """One edit. ``assignee``: ``member:<id>``, an agent (``agent:<id or name>``, or bare),
    or None for nobody. Refused edits raise and write nothing."""
    values = _checked_values(title, description, priority)
    target: IssueState | None = None
    if not isinstance(state, Unset):
        try:
            target = parse_state(state)
        except ValueError as exc:
            raise InvalidValue(str(exc)) from None
    found = await _locked_issue(conn, workspace_id, issue_id)
    before = issue_row(found)
    current = IssueState(found["state"])
    if target is not None:
        check_move(issue_id, current, target)  # IssueMoveRefused names the allowed moves
        values["state"] = target.value
    if target is IssueState.IN_PROGRESS and current is not target:
        # a board move may not start what waits for a blocker (docs/lifecycle.md#dependencies)
        why = (await blockage.reasons(conn, workspace_id, [issue_id])).get(issue_id)
        if why is not None:
            raise Blocked(issue_id, why)
    final_state = target or current
    final_priority = values.get("priority", found["priority"])
    done = _Cancels()

    new_agent: RowMapping | None = None
    if not isinstance(assignee, Unset):
        kind, ident, new_agent = (
            (None, None, None) if assignee is None else await _who(conn, workspace_id, assignee)
        )
        if new_agent is not None:
            if target in CLOSED:
                raise InvalidValue(
                    f"closing issue {issue_id} and giving it to an agent at once contradict "
                    "each other: a closed issue runs no tasks"
                )
            if final_state in CLOSED:
                raise InvalidValue(
                    f"issue {issue_id} is {final_state.value}: reopen it before giving it to "
                    "an agent (a closed issue runs no tasks)"
                )
            pending = await _pending_of(conn, issue_id, new_agent["id"])
            if pending is not None:
                raise Conflict(
                    f"a pending task already exists for issue {issue_id} and agent "
                    f"{new_agent['name']}: task {pending[0]} is {pending[1]}"
                )
        values |= {"assignee_type": kind, "assignee_id": ident}
        previous = found["assignee_id"] if found["assignee_type"] == "agent" else None
        if previous is not None and previous != ident:
            if new_agent is not None:
                why = f"issue {issue_id} was reassigned to agent {new_agent['name']}"
            elif kind == "member":
                why = f"issue {issue_id} was reassigned to {assignee}"
            else:
                why = f"issue {issue_id} was unassigned"
            await _cancel_tasks(
                conn,
                ctx,
                done,
                workspace_id=workspace_id,
                issue_id=issue_id,
                why=why,
                agent_id=previous,
            )

    if target in CLOSED and current not in CLOSED:
        why = f"issue {issue_id} was closed as {final_state.value}"
        await _cancel_tasks(
            conn, ctx, done, workspace_id=workspace_id, issue_id=issue_id, why=why, stop=ACTIVE
        )

    if current is IssueState.DONE and final_state is not IssueState.DONE:
        # its dependents wait for it again: a task of theirs still queued must not run
        for link in await dependencies.dependents_of(conn, workspace_id, issue_id):
            why = f"its blocker {issue_id} was reopened; it is queued again once that is done"
            await _cancel_tasks(
                conn,
                ctx,
                done,
                workspace_id=workspace_id,
                issue_id=link.issue_id,
                why=why,
                stop=frozenset(),
            )
    moved = await settle(conn, ctx, _C, done.cancelled)  # the issue, and any autopilot run
    if values:
        stmt = (
            update(_I)
            .where(_I.c.id == issue_id, _I.c.workspace_id == workspace_id)
            .values(values)
            .returning(*_I.c)
        )
        after = issue_row((await conn.execute(stmt)).mappings().one())
    else:
        after = next((i for i in reversed(moved) if i.id == issue_id), before)

    if "priority" in values and values["priority"] != found["priority"]:
        await conn.execute(
            update(_T)
            .where(
                _T.c.issue_id == issue_id,
                _T.c.workspace_id == workspace_id,
                _T.c.status == _Q.value,
            )
            .values(priority=final_priority)
        )
    queued = None
    blocked = None
    if new_agent is not None:
        blocked = (await dependencies.blockage_of(conn, workspace_id, issue_id)).reason
    if new_agent is not None and blocked is None:
        queued = await tasks.insert_queued(
            conn, ctx, new_agent, issue_id=issue_id, priority=final_priority
        )

    woken: list[TaskRow] = []
    if final_state is IssueState.DONE and current is not IssueState.DONE:
        woken = await dependencies.wake_dependents(conn, ctx, [issue_id])
    stranded: list[blockage.Stranding] = []
    if done.cancelled or (final_state is IssueState.CANCELLED and current is not final_state):
        stranded = await blockage.strandings(conn, [issue_id], closing=True)
    before = (await blockage.with_blocked(conn, workspace_id, [before]))[0]
    after = (await blockage.with_blocked(conn, workspace_id, [after]))[0]

    return IssueEdit(
        issue=after,
        changed=after != before or bool(done.cancelled or done.requested) or queued is not None,
        queued=queued,
        cancelled=_rows(done.cancelled),
        requested=_rows(done.requested),
        messages=done.messages,
        blocked=blocked,
        woken=woken,
        stranded=stranded,
    )


def _rows(rows: Sequence[RowMapping]) -> list[TaskRow]:
    return [task_row(r) for r in rows]
