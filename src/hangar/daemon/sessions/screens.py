"""Screen sampling: is the agent busy, idle, waiting for an answer, or gone?

Each sample of a session's pane is compared with the last one (:mod:`idle` classifies);
a change is remembered here and persisted, so the idle clock survives a daemon restart.
So is the agent a screen showed (a wrapped Claude's banner), in memory only.
The clock is the injected one: "quiet since" is measured in its milliseconds. Waits
(``wait_idle``, a list that waits) poll until settled or until their deadline."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hangar.core.clock import Clock
from hangar.daemon.sessions import idle as idleness
from hangar.daemon.sessions.access import Log, SessionAccess, session_agent
from hangar.daemon.sessions.errors import SessionError
from hangar.daemon.sessions.tmux import Tmux, TmuxError
from hangar.proto import api
from hangar.proto.rows import SessionRow
from hangar.store.errors import NotFound

if TYPE_CHECKING:
    from hangar.store import Store

#: quiet time that counts as idle when neither the caller nor the session names one
DEFAULT_IDLE_MS = 5000
#: how often the daemon samples every active session's screen on its own
WATCH_INTERVAL_S = 2.0


@dataclass
class _Screen:
    hash: str | None
    changed_at_ms: int
    #: monotonic time of the last snapshot compared against this one
    sampled_at: float = 0.0
    #: the agent a screen of this pane was recognised as: it stays the pane's once its
    #: banner has scrolled away (kept in memory only, until the session is relaunched)
    agent: str | None = None
    #: the state the last sample was judged (a change into one that needs the user is told)
    state: str | None = None


#: the states a session is announced in, once per change into them
_ANNOUNCED = ("waiting_for_input", "exited")


class ScreenWatcher:
    """Samples panes, keeps each session's last screen, and answers idle questions."""

    def __init__(
        self, *, access: SessionAccess, store: Store, clock: Clock, tmux: Tmux, log: Log
    ) -> None:
        self.access = access
        self.store = store
        self.clock = clock
        self.tmux = tmux
        self.log = log
        self._screens: dict[str, _Screen] = {}

    def forget(self, session_id: str) -> None:
        """Drop what is known of a session's screen (archived, deleted, relaunched)."""
        self._screens.pop(session_id, None)

    # -- the verbs ----------------------------------------------------------------------

    async def idle(
        self, workspace_id: str, ref: str, threshold_ms: int | None
    ) -> api.SessionIdleResult:
        row = await self.access.active(workspace_id, ref)
        return idle_result(await self.observe(row, threshold_ms))

    async def wait_idle(
        self, workspace_id: str, p: api.SessionWaitIdleParams
    ) -> api.SessionWaitIdleResult:
        row = await self.access.active(workspace_id, p.id)
        deadline = time.monotonic() + p.timeout_ms / 1000
        while True:
            obs = await self.observe(row, p.threshold_ms)
            # a question or a dead agent ends the wait too: both need the orchestrator now
            settled = obs.state != "busy"
            if settled or time.monotonic() >= deadline:
                base = idle_result(obs)
                return api.SessionWaitIdleResult(
                    **{f: getattr(base, f) for f in base.__struct_fields__},
                    timed_out=not settled,
                )
            await asyncio.sleep(
                min(p.poll_interval_ms / 1000, max(0.0, deadline - time.monotonic()))
            )

    async def wait_listed(
        self, rows: list[SessionRow], p: api.SessionListParams
    ) -> api.SessionListResult:
        """Until any (or all) of the listed active sessions settle, or ``p.timeout_ms``."""
        want_all = p.wait_for_idle == "all"
        deadline = time.monotonic() + p.timeout_ms / 1000
        while True:
            states: dict[str, str] = {}
            for r in rows:
                if r.status == "active":
                    # a session archived or deleted meanwhile simply drops out of the wait
                    with contextlib.suppress(SessionError, NotFound):
                        states[r.id] = (await self.observe(r, p.threshold_ms)).state
            settled = [s != "busy" for s in states.values()]
            done = bool(settled) and (all(settled) if want_all else any(settled))
            timed_out = not done and time.monotonic() >= deadline
            if done or timed_out or not states:
                views = [api.SessionView(session=r, state=states.get(r.id)) for r in rows]
                return api.SessionListResult(sessions=views, timed_out=timed_out)
            await asyncio.sleep(min(0.5, max(0.0, deadline - time.monotonic())))

    # -- sampling -----------------------------------------------------------------------

    async def observe(self, row: SessionRow, threshold_ms: int | None) -> idleness.Observation:
        """Sample the pane now (a vanished session becomes orphaned) and classify it."""
        threshold = row.idle_threshold_ms if threshold_ms is None else threshold_ms
        state = await self.access.pane(row)
        content = await self.access.screen(row)
        return await self._record(row, content, threshold, pane_dead=state.dead)

    async def note_input(self, row: SessionRow) -> None:
        """Input restarts the idle clock: a wait begun right after a send must not take the
        screen from before the agent reacted for settled work (Enter alone often changes
        nothing visible until the agent prints)."""
        screen = await self._screen(row)
        screen.changed_at_ms = self.clock.now_ms()
        if screen.hash is not None:  # with no snapshot yet, the next one counts as a change
            await self.store.session_record_screen(
                row.id, last_hash=screen.hash, last_changed_at=screen.changed_at_ms
            )

    async def watch(self, interval_s: float = WATCH_INTERVAL_S) -> None:
        """Sample every active session's screen in the background, so that the first idle
        check of a session that has been quiet for minutes knows since when (without it,
        a first snapshot can only count as a change: busy, quiet for 0 ms)."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                rows = await self.store.session_list_in_status("active")
            except Exception as exc:  # a store hiccup: the next round tries again
                self.log.warning("session watch: listing failed", error=str(exc))
                continue
            for row in rows:
                await self._sample_in_background(row, interval_s)

    async def _sample_in_background(self, row: SessionRow, interval_s: float) -> None:
        screen = self._screens.get(row.id)
        recent = screen is not None and time.monotonic() - screen.sampled_at < interval_s
        if recent or self.access.op_lock(row.id).locked():  # archive, delete, resume at work
            return
        try:
            started = time.monotonic()
            content = await self.tmux.capture(
                row.tmux_session, idleness.SAMPLE_LINES, pane=row.pane_id
            )
            pane = await self.tmux.pane_state(row.tmux_session, pane=row.pane_id)
            if await self._sample_is_current(row, started):
                await self._record(row, content, row.idle_threshold_ms, pane_dead=pane.dead)
        except (TmuxError, NotFound):
            pass  # gone or failing: orphaning is for the calls a caller waits on
        except Exception as exc:
            self.log.warning("session watch failed", session=row.name, error=str(exc))

    async def _sample_is_current(self, row: SessionRow, started: float) -> bool:
        """Whether a background capture begun at ``started`` may still be recorded: no
        newer snapshot was recorded meanwhile, and the session is the same active one
        (not archived, deleted or relaunched in a new pane while tmux answered)."""
        screen = self._screens.get(row.id)
        if self.access.op_lock(row.id).locked() or (
            screen is not None and screen.sampled_at > started
        ):
            return False
        now = await self.store.session_get(row.workspace_id, row.id)
        return now is not None and now.status == "active" and now.pane_id == row.pane_id

    async def _screen(self, row: SessionRow) -> _Screen:
        """The idle tracker's state for ``row``, loaded from the store the first time."""
        screen = self._screens.get(row.id)
        if screen is None:
            last_hash, changed_ms = await self.store.session_screen(row.workspace_id, row.id)
            screen = self._screens[row.id] = _Screen(last_hash, changed_ms)
        return screen

    async def _record(
        self, row: SessionRow, content: str, threshold_ms: int, *, pane_dead: bool
    ) -> idleness.Observation:
        """Compare a snapshot with the last one; a change is kept (and persisted)."""
        screen = await self._screen(row)
        screen.sampled_at = time.monotonic()
        now_ms = self.clock.now_ms()
        obs = idleness.observe(
            content,
            prev_hash=screen.hash,
            last_changed_at=_utc(screen.changed_at_ms),
            now=_utc(now_ms),
            threshold_ms=threshold_ms,
            # said by the session, else what an earlier screen showed, else this screen
            agent=session_agent(row) or screen.agent,
            pane_dead=pane_dead,
        )
        screen.agent = obs.agent or screen.agent
        before, screen.state = screen.state, obs.state
        if obs.state != before and obs.state in _ANNOUNCED:
            await self.access.announce(row, obs.state)
        if obs.changed:
            screen.hash, screen.changed_at_ms = obs.hash, now_ms
            await self.store.session_record_screen(
                row.id, last_hash=obs.hash, last_changed_at=now_ms
            )
        return obs


def iso(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC with milliseconds and a ``Z``."""
    return _utc(ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def idle_result(obs: idleness.Observation) -> api.SessionIdleResult:
    changed_ms = int(obs.last_changed_at.timestamp() * 1000)
    return api.SessionIdleResult(
        idle=obs.idle,
        state=obs.state,
        last_changed_at=iso(changed_ms),
        elapsed_ms=obs.elapsed_ms,
        threshold_ms=obs.threshold_ms,
    )


def _utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
