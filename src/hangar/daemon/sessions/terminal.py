"""The agent's terminal: type into it, read it back, and tell a person how to attach.

Text is typed literally (never read as key names), at most one send per session per
:data:`SEND_INTERVAL_S`: a later send waits its turn instead of failing the caller. A line
break goes only with Enter (docs/sessions.md#send)."""

from __future__ import annotations

import asyncio
import time

from hangar.core.clock import Clock
from hangar.core.terminal_text import check_send_text
from hangar.daemon.sessions.access import ENTER_DELAY_S, Log, SessionAccess, ending
from hangar.daemon.sessions.errors import SessionError
from hangar.daemon.sessions.screens import ScreenWatcher, iso
from hangar.daemon.sessions.tmux import Tmux
from hangar.proto import api
from hangar.proto.rows import SessionRow

#: one send per session per this many seconds (docs/sessions.md#send); later sends wait
SEND_INTERVAL_S = 0.2
#: a long paste takes tmux longer to settle before the Enter
ENTER_DELAY_LONG_S = 0.25


class SessionTerminal:
    def __init__(
        self, *, access: SessionAccess, screens: ScreenWatcher, tmux: Tmux, clock: Clock, log: Log
    ) -> None:
        self.access = access
        self.screens = screens
        self.tmux = tmux
        self.clock = clock
        self.log = log
        self._last_send: dict[str, float] = {}

    def forget(self, session_id: str) -> None:
        self._last_send.pop(session_id, None)

    async def send(self, workspace_id: str, ref: str, text: str, *, press_enter: bool) -> None:
        if not press_enter and ("\n" in text or "\r" in text):
            # Bracketed paste is the program's choice: one that never turned it on (a shell
            # like dash, a REPL) takes a pasted line break as Enter and runs the line. Text
            # that must wait for its Enter can only be text without a line break.
            raise SessionError(
                "invalid_text",
                "text: a line break with press_enter=false would still run the line in a "
                "program without bracketed paste (a shell), so it is refused; send the "
                "lines with press_enter=true, or without the line break",
            )
        try:
            check_send_text(text)
        except ValueError as exc:
            raise SessionError("invalid_text", str(exc)) from None
        row = await self.access.active(workspace_id, ref)
        async with self.access.send_lock(row.id):
            # rate limit: wait instead of failing the caller (docs/sessions.md#send)
            wait = self._last_send.get(row.id, 0.0) + SEND_INTERVAL_S - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_send[row.id] = time.monotonic()
            state = await self.access.pane(row)
            if state.dead:
                raise SessionError(
                    "not_active",
                    f"the agent of session {row.name!r} has exited ({ending(state)}); "
                    f"`hangar session resume {row.name}` relaunches it",
                )
            await self._type(row, text, press_enter=press_enter)

    async def _type(self, row: SessionRow, text: str, *, press_enter: bool) -> None:
        name, pane = row.tmux_session, row.pane_id
        if text:
            await self.access.tmux_call(row, lambda: self.tmux.send_text(name, text, pane=pane))
        if press_enter:
            if text:
                await asyncio.sleep(ENTER_DELAY_LONG_S if len(text) > 200 else ENTER_DELAY_S)
            await self.access.tmux_call(row, lambda: self.tmux.send_keys(name, "Enter", pane=pane))
        if text or press_enter:
            try:
                await self.screens.note_input(row)
            except Exception as exc:  # the text is in the pane: the send succeeded
                self.log.warning(
                    "session send: idle clock not restarted", session=row.name, error=str(exc)
                )

    async def read(self, workspace_id: str, p: api.SessionReadParams) -> api.SessionReadResult:
        row = await self.access.active(workspace_id, p.id)
        await self.access.pane(row)
        now = iso(self.clock.now_ms())
        name, pane = row.tmux_session, row.pane_id
        if p.since_line is None:
            content = await self.access.capture(
                row, lambda: self.tmux.capture(name, p.lines, pane=pane)
            )
            return api.SessionReadResult(content=content, captured_at=now)
        history = await self.access.capture(row, lambda: self.tmux.capture_history(name, pane=pane))
        lines = history.split("\n") if history else []
        # tmux drops the oldest history past its limit, so a cursor can outrun the total
        truncated = p.since_line > len(lines)
        fresh = lines[-p.lines :] if truncated else lines[p.since_line :][-p.lines :]
        # the last line may still be growing (the cursor's line: "printf a; sleep; echo b"):
        # it is not counted as read, so the next read sends it again, whole
        return api.SessionReadResult(
            content="\n".join(fresh),
            captured_at=now,
            next_line=max(0, len(lines) - 1),
            truncated=truncated,
        )

    async def attach_hint(self, workspace_id: str, ref: str) -> api.SessionAttachHint:
        row = await self.access.active(workspace_id, ref)
        return api.SessionAttachHint(
            command=self.tmux.attach_hint(row.tmux_session),
            argv=self.tmux.attach_argv(row.tmux_session),
        )
