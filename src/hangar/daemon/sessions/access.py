"""Reaching a session: its row, its locks, and tmux calls that notice a vanished session.

Every part of the session service goes through :class:`SessionAccess` to find a row and to
talk to its pane, so "the tmux session is gone behind our back" is handled in one place:
the row becomes ``orphaned`` (row and branch kept) and ``resume`` can bring it back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import msgspec

from hangar.adapters import git
from hangar.daemon.events import EventBus
from hangar.daemon.sessions import idle as idleness
from hangar.daemon.sessions.errors import SessionError
from hangar.daemon.sessions.tmux import PaneState, SessionGone, Tmux, TmuxError
from hangar.proto.events import SessionStateChanged
from hangar.proto.rows import SessionRow

if TYPE_CHECKING:
    from hangar.store import Store

T = TypeVar("T")

#: Enter goes separately, after typed text settles, or tmux's paste queue swallows it
ENTER_DELAY_S = 0.15


class Log(Protocol):
    """What the session service needs of a structlog-style logger."""

    def info(self, event: str, /, **kw: Any) -> Any: ...

    def warning(self, event: str, /, **kw: Any) -> Any: ...


class SessionAccess:
    """Rows by reference, per-session locks, and tmux calls against a session's pane."""

    def __init__(
        self, *, store: Store, tmux: Tmux, log: Log, events: EventBus | None = None
    ) -> None:
        self.store = store
        self.tmux = tmux
        self.log = log
        #: told when a session starts to need the user (``SessionStateChanged``)
        self.events = events
        self._op_locks: dict[str, asyncio.Lock] = {}
        self._send_locks: dict[str, asyncio.Lock] = {}

    async def get(self, workspace_id: str, ref: str) -> SessionRow:
        row = await self.store.session_get(workspace_id, ref)
        if row is None:
            raise SessionError("not_found", f"no session {ref!r} in this workspace")
        return row

    async def active(self, workspace_id: str, ref: str) -> SessionRow:
        row = await self.get(workspace_id, ref)
        refuse_in_flight(row)
        if row.status != "active":
            raise SessionError(
                "not_active",
                f"session {row.name!r} is {row.status}"
                + ("; `hangar session resume` relaunches it" if row.status == "orphaned" else ""),
            )
        return row

    def op_lock(self, session_id: str) -> asyncio.Lock:
        """Held by archive, delete and resume: one of them at a time per session, and the
        background sampler keeps off while one is at work."""
        return self._op_locks.setdefault(session_id, asyncio.Lock())

    def send_lock(self, session_id: str) -> asyncio.Lock:
        """Held while keystrokes go to the pane: a send and a stop never interleave."""
        return self._send_locks.setdefault(session_id, asyncio.Lock())

    async def orphan(self, row: SessionRow, why: str) -> None:
        # conditional: a caller holding an old row must not undo an archive or a delete
        if await self.store.session_set_status_if(row.id, expected="active", status="orphaned"):
            self.log.warning("session orphaned", session=row.name, tmux=row.tmux_session, why=why)
            await self.announce(msgspec.structs.replace(row, status="orphaned"), "orphaned")

    async def announce(self, row: SessionRow, state: str) -> None:
        """``SessionStateChanged``: the session waits for input, exited, or was orphaned."""
        if self.events is not None:
            await self.events.publish(
                row.workspace_id, SessionStateChanged(session=row, state=state)
            )

    async def tmux_call(self, row: SessionRow, call: Callable[[], Awaitable[T]]) -> T:
        """Run a tmux call against an active session; a vanished session becomes orphaned."""
        try:
            return await call()
        except SessionGone:
            await self.orphan(row, "its tmux session is gone")
            raise SessionError(
                "not_active",
                f"session {row.name!r}: its tmux session {row.tmux_session} is gone; "
                "it is now orphaned (`hangar session resume` relaunches it)",
            ) from None
        except TmuxError as exc:
            raise SessionError("tmux_error", f"session {row.name!r}: {exc}") from None

    async def capture(self, row: SessionRow, call: Callable[[], Awaitable[str]]) -> str:
        """:meth:`tmux_call` for reading the screen: a failing tmux is ``capture_failed``."""
        try:
            return await self.tmux_call(row, call)
        except SessionError as exc:
            if exc.kind == "tmux_error":
                raise SessionError("capture_failed", exc.message) from None
            raise

    async def screen(self, row: SessionRow) -> str:
        """The last :data:`idle.SAMPLE_LINES` lines of the agent's pane."""
        return await self.capture(
            row,
            lambda: self.tmux.capture(row.tmux_session, idleness.SAMPLE_LINES, pane=row.pane_id),
        )

    async def pane(self, row: SessionRow) -> PaneState:
        """The agent's pane, checked to still belong to the session (a pane id outlives
        nothing: after a tmux restart it may name someone else's pane)."""
        return await self.tmux_call(
            row, lambda: self.tmux.pane_state(row.tmux_session, pane=row.pane_id)
        )

    async def tmux_has(self, name: str) -> bool:
        try:
            return await self.tmux.has_session(name)
        except TmuxError as exc:
            raise SessionError("tmux_error", str(exc)) from None


def refuse_in_flight(row: SessionRow) -> None:
    if row.status in ("creating", "resuming"):
        verb = "created" if row.status == "creating" else "resumed"
        raise SessionError("not_active", f"session {row.name!r} is being {verb} right now")


def session_agent(row: SessionRow) -> str | None:
    """The agent the session says it runs: its ``agent``, else the one its command's first
    word names (rows made before ``agent`` existed have none). None: only the screen can
    tell (a wrapper such as ``env … claude``)."""
    return row.agent or idleness.agent_from_argv(row.command)


def ending(state: PaneState) -> str:
    """How a dead pane's process ended, in words."""
    if state.signal is not None:
        return f"killed by signal {state.signal}"
    return f"status {state.exit_status}" if state.exit_status is not None else "status unknown"


def last_words(output: str) -> str:
    # tmux's own "Pane is dead" footer says nothing the status doesn't
    said = [ln for ln in output.splitlines() if ln.strip() and not ln.startswith("Pane is dead")]
    return ("; last output: " + " | ".join(said[-5:])) if said else ""


@contextlib.contextmanager
def git_errors() -> Iterator[None]:
    """A failed git command reaches the caller as ``git_error`` with git's own words."""
    try:
        yield
    except git.GitError as exc:
        raise SessionError("git_error", str(exc)) from None


async def repo_toplevel(path: str) -> Path:
    """The top of the git repository that holds ``path``."""
    with git_errors():
        return await git.toplevel(Path(path).expanduser())
