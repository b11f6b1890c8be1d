"""From a bus event to what a notification says.

:func:`kind_of` runs inside the publisher's call (the tap): it only looks at the event.
:class:`Enricher` runs later, in the notify service's own task, and reads names from the
store (the agent's name, the issue's title, the workspace's slug); a read that fails leaves
the ids alone, it never loses the notice.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hangar.core import notices as nt
from hangar.core import notify as n
from hangar.proto.events import (
    AutopilotChanged,
    DependencyStranded,
    Event,
    SessionStateChanged,
    TaskFinished,
)
from hangar.store import Store

__all__ = ["Enricher", "PendingNotice", "kind_of"]

_SESSION_KINDS = {
    "waiting_for_input": n.SESSION_WAITING,
    "exited": n.SESSION_EXITED,
    "orphaned": n.SESSION_EXITED,
}


def kind_of(event: Event) -> str | None:
    """The notification kind ``event`` is, or None when it is none."""
    if isinstance(event, TaskFinished):
        if event.result == "failure":
            return n.TASK_FAILED
        return n.TASK_DONE if event.result == "success" else None
    if isinstance(event, SessionStateChanged):
        return _SESSION_KINDS.get(event.state)
    if isinstance(event, DependencyStranded):
        return n.DEPENDENCY_STRANDED
    if isinstance(event, AutopilotChanged):
        row = event.autopilot
        paused = not event.deleted and not row.enabled and bool(row.disabled_reason)
        return n.AUTOPILOT_PAUSED if paused else None
    return None


class Enricher:
    """Names for ids, read from the store (workspace slugs are kept: they rarely change)."""

    def __init__(self, store: Store, log: Any) -> None:
        self.store = store
        self.log = log
        self._slugs: dict[str, str] = {}

    async def facts(self, kind: str, workspace_id: str, event: Event, at: int) -> nt.Facts:
        base = nt.Facts(kind=kind, workspace_id=workspace_id, at=at)
        try:
            base = nt.Facts(**{**_fields(base), "workspace": await self._slug(workspace_id)})
            return await self._enrich(base, event)
        except Exception as exc:  # a store hiccup: say what the event itself says
            self.log.warning("notification: names unavailable", kind=kind, error=str(exc))
            return nt.Facts(**{**_fields(base), **_bare(event)})

    async def _slug(self, workspace_id: str) -> str:
        slug = self._slugs.get(workspace_id)
        if slug is None:
            row = await self.store.workspace_resolve(workspace_id)
            slug = row.slug if row is not None else ""
            if slug:
                self._slugs[workspace_id] = slug
        return slug

    async def _enrich(self, base: nt.Facts, event: Event) -> nt.Facts:
        fields = {**_fields(base), **_bare(event)}
        ws = base.workspace_id
        if isinstance(event, TaskFinished):
            task = await self.store.task_get(ws, event.task_id)
            if task is not None:
                fields |= {"agent_id": task.agent_id, "issue_id": task.issue_id}
                agent = await self.store.agent_get(ws, task.agent_id)
                fields["agent_name"] = agent.name if agent is not None else None
        elif isinstance(event, SessionStateChanged):
            fields["agent_name"] = event.session.agent
        if fields.get("issue_id") and not fields.get("issue_title"):
            issue = await self.store.issue_get(ws, fields["issue_id"])
            fields["issue_title"] = issue.title if issue is not None else None
        return nt.Facts(**fields)


class PendingNotice:
    """One event's notice, built on first ask and kept: the channels that send it share one
    set of store reads, and an event every channel absorbs into a burst costs none."""

    def __init__(
        self, enricher: Enricher, kind: str, workspace_id: str, event: Event, at: int
    ) -> None:
        self.kind = kind
        self.workspace_id = workspace_id
        self._enricher = enricher
        self._event = event
        self._at = at
        self._built: asyncio.Future[nt.Notice | None] | None = None

    async def notice(self) -> nt.Notice | None:
        if self._built is None:
            self._built = asyncio.get_running_loop().create_future()
            try:
                facts = await self._enricher.facts(
                    self.kind, self.workspace_id, self._event, self._at
                )
                self._built.set_result(nt.notice_of(facts))
            except Exception:
                self._enricher.log.exception("notification not built", kind=self.kind)
                self._built.set_result(None)
            finally:  # cancelled while building: the other channels must not wait forever
                if not self._built.done():
                    self._built.set_result(None)
        return await asyncio.shield(self._built)


def _fields(f: nt.Facts) -> dict[str, Any]:
    return {k: getattr(f, k) for k in f.__dataclass_fields__}


def _bare(event: Event) -> dict[str, Any]:
    """What the event carries itself."""
    if isinstance(event, TaskFinished):
        return {"task_id": event.task_id, "failure_reason": event.failure_reason}
    if isinstance(event, SessionStateChanged):
        s = event.session
        return {"session_id": s.id, "session_name": s.name, "state": event.state}
    if isinstance(event, DependencyStranded):
        return {
            "issue_id": event.issue_id,
            "issue_title": event.issue_title,
            "blocker_id": event.blocker_id,
            "state": event.standing,
        }
    if isinstance(event, AutopilotChanged):
        a = event.autopilot
        return {
            "autopilot_id": a.id,
            "autopilot_name": a.name,
            "agent_id": a.agent_id,
            "agent_name": a.agent_name or None,
            "reason": a.disabled_reason,
        }
    return {}
