"""What a notification says, pure: the facts of an event, the notice a person reads, the
summary of a burst, and the JSON payload a webhook or a command gets (docs/notifications.md).

The daemon's notify service (``daemon/notify/``) turns bus events into :class:`Facts`, asks
:func:`notice_of` for the words, and hands them to the senders (``adapters/notifiers.py``).
A payload is built from an explicit list of fields, so no secret, token or environment value
can reach one by accident.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any, Final

from hangar.core.notify import (
    AUTOPILOT_PAUSED,
    DEPENDENCY_STRANDED,
    SESSION_EXITED,
    SESSION_WAITING,
    TASK_DONE,
    TASK_FAILED,
    TEST,
)

__all__ = ["PAYLOAD_VERSION", "Facts", "Notice", "notice_of", "payload", "summary_of"]

PAYLOAD_VERSION: Final = 1


@dataclass(frozen=True)
class Facts:
    """What is known of an event once the daemon has looked up names. Every field is one a
    payload may carry; nothing else reaches a channel."""

    kind: str
    workspace_id: str
    workspace: str = ""
    at: int = 0
    task_id: str | None = None
    failure_reason: str | None = None
    issue_id: str | None = None
    issue_title: str | None = None
    agent_id: str | None = None
    agent_name: str | None = None
    session_id: str | None = None
    session_name: str | None = None
    #: session.exited: exited | orphaned; dependency.stranded: failed | cancelled | deleted
    state: str | None = None
    blocker_id: str | None = None
    autopilot_id: str | None = None
    autopilot_name: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Notice:
    """One message: a title, a line of text, and the command that shows more."""

    kind: str
    title: str
    text: str
    look: str
    facts: Facts
    #: how many events this notice stands for (a coalesced burst: more than one)
    count: int = 1
    test: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _ws(f: Facts) -> str:
    return f" -w {shlex.quote(f.workspace)}" if f.workspace else ""


def _short(ident: str | None) -> str:
    return (ident or "?")[-8:]


def _issue(f: Facts) -> str:
    if f.issue_title:
        return f"{f.issue_title!r} ({_short(f.issue_id)})"
    return f"issue {_short(f.issue_id)}" if f.issue_id else "a run without an issue"


def notice_of(f: Facts) -> Notice:
    """The words for one event: what happened, where, and the command to look at it."""
    where = f"in workspace {f.workspace or f.workspace_id}"
    agent = f.agent_name or _short(f.agent_id)
    if f.kind in (TASK_FAILED, TASK_DONE):
        ended = "failed" if f.kind == TASK_FAILED else "is done"
        why = f" ({f.failure_reason})" if f.kind == TASK_FAILED and f.failure_reason else ""
        title = f"Task {ended}: {f.issue_title or _short(f.task_id)}"
        text = f"{agent}'s task {_short(f.task_id)} on {_issue(f)} {ended}{why} {where}."
        look = f"hangar task show {f.task_id}{_ws(f)}"
    elif f.kind == SESSION_WAITING:
        title = f"Session {f.session_name} waits for input"
        text = f"Session {f.session_name} ({f.agent_name or 'agent'}) waits for you {where}."
        look = f"hangar session attach {shlex.quote(f.session_name or '')}{_ws(f)}"
    elif f.kind == SESSION_EXITED:
        state = f.state or "exited"
        title = f"Session {f.session_name} {state}"
        gone = "its agent exited" if state == "exited" else "its tmux session is gone"
        text = f"Session {f.session_name} {state} {where}: {gone}."
        look = f"hangar session show {shlex.quote(f.session_name or '')}{_ws(f)}"
    elif f.kind == DEPENDENCY_STRANDED:
        title = f"Issue stranded: {f.issue_title or _short(f.issue_id)}"
        text = (
            f"{_issue(f)} stays blocked {where}: its blocker {_short(f.blocker_id)} "
            f"{f.state or 'did not end done'}; retry the blocker or unblock by hand."
        )
        look = f"hangar issue show {f.issue_id}{_ws(f)}"
    elif f.kind == AUTOPILOT_PAUSED:
        title = f"Autopilot {f.autopilot_name} disabled itself"
        text = f"Autopilot {f.autopilot_name} {where}: {f.reason or 'too many failed runs'}."
        look = f"hangar autopilot show {shlex.quote(f.autopilot_name or '')}{_ws(f)}"
    else:
        title = "Hangar test notification"
        text = "If you can read this, the channel works."
        look = "hangar notify list"
    return Notice(kind=f.kind, title=title, text=text, look=look, facts=f, test=f.kind == TEST)


_MORE = {
    TASK_FAILED: ("task failed", "tasks failed", "hangar task list --status failed"),
    TASK_DONE: ("task is done", "tasks are done", "hangar task list --status done"),
    SESSION_WAITING: ("session waits", "sessions wait for input", "hangar session list"),
    SESSION_EXITED: ("session ended", "sessions exited or were orphaned", "hangar session list"),
    DEPENDENCY_STRANDED: ("issue is stranded", "issues are stranded", "hangar issue list"),
    AUTOPILOT_PAUSED: (
        "autopilot paused",
        "autopilots disabled themselves",
        "hangar autopilot list",
    ),
}


def summary_of(last: Notice, more: int, window_s: float) -> Notice:
    """One message for ``more`` events of ``last``'s kind that came within the window after
    the one already sent."""
    one, many, cmd = _MORE.get(last.kind, ("event", "events", "hangar notify list"))
    f = last.facts
    what = one if more == 1 else many
    title = f"{more} more {what}"
    secs = round(window_s)
    text = (
        f"{more} more {what} in workspace {f.workspace or f.workspace_id} within {secs} s "
        f"(the latest: {last.title})."
    )
    return Notice(
        kind=last.kind, title=title, text=text, look=f"{cmd}{_ws(f)}", facts=f, count=more
    )


def _some(**fields: str | None) -> dict[str, str] | None:
    kept = {k: v for k, v in fields.items() if v is not None}
    return kept or None


def payload(notice: Notice, delivery_id: str) -> bytes:
    """The JSON body a webhook or a command gets: these fields, no others."""
    f = notice.facts
    body: dict[str, Any] = {
        "version": PAYLOAD_VERSION,
        "delivery": delivery_id,
        "event": notice.kind,
        "test": notice.test,
        "count": notice.count,
        "at": f.at,
        "title": notice.title,
        "text": notice.text,
        "command": notice.look,
        "workspace": {"id": f.workspace_id, "slug": f.workspace},
        "task": _some(id=f.task_id, failure_reason=f.failure_reason),
        "issue": _some(id=f.issue_id, title=f.issue_title),
        "agent": _some(id=f.agent_id, name=f.agent_name),
        "session": _some(id=f.session_id, name=f.session_name),
        "autopilot": _some(id=f.autopilot_id, name=f.autopilot_name),
        "blocker": _some(id=f.blocker_id),
        "state": f.state,
        "reason": f.reason,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
