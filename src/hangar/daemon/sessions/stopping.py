"""Stopping a session's agent: ask it to exit, then kill its own tmux session, then end
whatever of its processes outlived the hang-up.

Two rules: a tmux session is killed only after its pane is checked to be the agent's (a
same-named session somebody started by hand is never ours), and leftover processes are
ended by pid *and* start time as listed while the pane was alive (a reused pid is never
touched)."""

from __future__ import annotations

import asyncio
import time

from hangar.adapters import process, procfs
from hangar.daemon.sessions import idle as idleness
from hangar.daemon.sessions.access import ENTER_DELAY_S, Log, SessionAccess, session_agent
from hangar.daemon.sessions.errors import SessionError
from hangar.daemon.sessions.tmux import PaneState, SessionGone, Tmux, TmuxError
from hangar.proto.rows import SessionRow

#: how long archive waits for the agent to exit after being asked
EXIT_GRACE_S = 5.0


class AgentStopper:
    def __init__(self, *, access: SessionAccess, tmux: Tmux, log: Log) -> None:
        self.access = access
        self.tmux = tmux
        self.log = log

    async def stop(self, row: SessionRow) -> None:
        """Ask the agent to exit, give it EXIT_GRACE_S, then kill its tmux session and
        whatever is left of the processes it ran."""
        if row.status != "active" or row.pane_id is None:
            return  # orphaned: the tmux session is gone, or a stranger's by that name
        name, pane = row.tmux_session, row.pane_id
        async with self.access.send_lock(row.id):  # never interleave with a send's keystrokes
            try:
                state = await self.tmux.pane_state(name, pane=pane)
                members = await _members(state)
                if not state.dead:
                    await self._ask_to_exit(row, pane)
                    deadline = time.monotonic() + EXIT_GRACE_S
                    while (
                        time.monotonic() < deadline
                        and not (state := await self.tmux.pane_state(name, pane=pane)).dead
                    ):
                        await asyncio.sleep(0.1)
                    # still running: add what it started during the grace
                    members = sorted({*members, *await _members(state)})
                await self.tmux.kill_session(name)
            except SessionGone:
                return
            except TmuxError as exc:
                raise SessionError("tmux_error", f"could not stop the agent: {exc}") from None
            # by pid and start time, as listed: a pid reused meanwhile is never touched
            await self._end_leftovers(row, members)

    async def _ask_to_exit(self, row: SessionRow, pane: str) -> None:
        name = row.tmux_session
        await self.tmux.send_keys(name, "C-u", pane=pane)  # clear a half-typed line
        if await self._agent(row, pane) == "claude":
            await self.tmux.send_text(name, "/exit", pane=pane)
            await asyncio.sleep(ENTER_DELAY_S)
            await self.tmux.send_keys(name, "Enter", pane=pane)
        else:
            await self.tmux.send_keys(name, "C-d", pane=pane)  # EOF: shells, cat

    async def _agent(self, row: SessionRow, pane: str) -> str | None:
        """The session's agent, or (a wrapped command) the one its screen shows."""
        agent = session_agent(row)
        if agent is None:
            try:
                screen = await self.tmux.capture(row.tmux_session, idleness.SAMPLE_LINES, pane=pane)
            except TmuxError:
                return None  # the keys that follow will say what is wrong
            agent = idleness.screen_agent(screen)
        return agent

    async def kill_own(self, row: SessionRow) -> None:
        """Kill the session's tmux session, but only after checking its pane is the agent's:
        a same-named session somebody started by hand is never ours to kill."""
        try:
            state = await self.tmux.pane_state(row.tmux_session, pane=row.pane_id)
            if row.pane_id is None:
                return
            members = await _members(state)
            await self.tmux.kill_session(row.tmux_session)
        except SessionGone:
            return
        except TmuxError as exc:
            raise SessionError("tmux_error", f"could not stop the agent: {exc}") from None
        await self._end_leftovers(row, members)

    async def _end_leftovers(self, row: SessionRow, members: list[process.ProcessId]) -> None:
        """A killed tmux session only hangs up on its pane: an agent (or a child of it) that
        ignores SIGHUP lives on. Those of the listed processes still running are ended."""
        killed = await process.end_processes(members)
        if killed:
            self.log.warning(
                "agent processes outlived their tmux session; killed",
                session=row.name,
                pids=killed,
            )


async def _members(state: PaneState) -> list[process.ProcessId]:
    """The processes of a live pane's session (its leader alive, the id is its own)."""
    if state.dead or state.pid is None:
        return []
    return await asyncio.to_thread(procfs.session_members, state.pid)
