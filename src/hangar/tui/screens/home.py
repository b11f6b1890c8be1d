"""Home (``ainb``): the interactive sessions, the plugins' screens, and the way into Hangar.

Sessions are the daemon's (``hangar session``): each row says what the agent is doing now —
busy, idle, waiting for input, exited (probed from its screen by the daemon), or orphaned —
and for how long. Enter attaches to the highlighted session's tmux: the app suspends, the
terminal is tmux's until the user detaches, and the app comes back as it was. ``n`` starts a
session, ``s`` types text into one, ``A`` archives one (after a confirm). Below, the screens
that plugins declare: Enter opens one. ``g`` opens Hangar's Issues.

Sessions publish no events, so the list is polled while Home is on screen (one poll at a
time, re-armed when the last one ends) and after every attach.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label, Static

from hangar.client.errors import RemoteError
from hangar.proto import api, calls
from hangar.proto.rows import SessionRow
from hangar.tui import handoff
from hangar.tui.link import LinkDown, describe_error
from hangar.tui.screens.base import HangarScreen
from hangar.tui.screens.modals import Form
from hangar.tui.screens.plugin import (
    AppPlugins,
    PluginScreen,
    PluginScreenEntry,
    app_plugins,
    close_app_plugins,
)
from hangar.tui.style import short_id, state_text
from hangar.tui.widgets.keyed_table import Cell, KeyedTable

__all__ = [
    "ArchiveConfirm",
    "HomeScreen",
    "SendForm",
    "SessionDraft",
    "SessionForm",
    "SessionState",
    "default_repo",
    "duration",
    "session_cells",
]

#: how often the sessions' states are asked again while Home is on screen
POLL_S = 2.0
SESSION_COLUMNS = ("NAME", "STATE", "FOR", "REPO", "BRANCH", "AGENT")
PLUGIN_COLUMNS = ("SCREEN", "PLUGIN", "ABOUT")


@dataclass(frozen=True)
class SessionState:
    """What a session is doing and since when (ms since the epoch)."""

    state: str
    since_ms: int | None


def duration(ms: int) -> str:
    """A span for a column: 45s, 12m, 3h, 2d."""
    secs = max(0, ms // 1000)
    if secs < 60:
        return f"{secs}s"
    if secs < 3600:
        return f"{secs // 60}m"
    if secs < 86400:
        return f"{secs // 3600}h"
    return f"{secs // 86400}d"


def _short_path(path: str) -> str:
    home = str(Path.home())
    return "~" + path[len(home) :] if path == home or path.startswith(home + os.sep) else path


def session_cells(row: SessionRow, state: SessionState, now_ms: int) -> tuple[Cell, ...]:
    since = "" if state.since_ms is None else duration(now_ms - state.since_ms)
    return (
        row.name,
        state_text(state.state),
        since,
        _short_path(row.repo_path),
        row.branch,
        row.agent or (row.command[0] if row.command else ""),
    )


def default_repo(cwd: Path | None = None) -> Path:
    """The repository the user is in (its top level), else the current directory."""
    here = (cwd or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / ".git").exists():
            return candidate
    return here


class HomeScreen(HangarScreen):
    BINDING_GROUP_TITLE = "Home"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Attach / open", id="home.open"),
        Binding("n", "new", "New session", id="session.new"),
        Binding("s", "send", "Send text", id="session.send"),
        Binding("A", "archive", "Archive", id="session.archive"),
        Binding("g", "hangar", "Hangar", id="home.hangar"),
    ]
    DEFAULT_CSS = """
    HomeScreen .section { height: 1; padding: 0 1; text-style: bold; background: $boost; }
    HomeScreen #sessions { height: 1fr; }
    HomeScreen #plugins { height: auto; max-height: 10; }
    HomeScreen .note { height: auto; padding: 0 2; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.sessions: dict[str, SessionRow] = {}
        self.order: list[str] = []
        self.states: dict[str, SessionState] = {}
        self.screens: dict[str, PluginScreenEntry] = {}
        self.plugins: AppPlugins | None = None
        self._poll_timer: Timer | None = None
        self._refreshing = False
        self._refresh_again = False

    def body(self) -> list[Widget]:
        return [
            Static("Sessions", classes="section"),
            KeyedTable(SESSION_COLUMNS, id="sessions"),
            Static("", id="sessions-note", classes="note"),
            Static("Plugin screens", classes="section"),
            KeyedTable(PLUGIN_COLUMNS, id="plugins"),
            Static("", id="plugins-note", classes="note"),
        ]

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#sessions", KeyedTable)

    @property
    def plugin_table(self) -> KeyedTable:
        return self.query_one("#plugins", KeyedTable)

    def on_mount(self) -> None:
        super().on_mount()
        self.table.focus()
        self.call_after_refresh(self._list_plugins)

    @on(events.Unmount)
    async def _close_plugins(self) -> None:
        # Home lives as long as the app (modes keep their screens): the plugins go with it
        await close_app_plugins(self.app)

    def on_screen_resume(self) -> None:
        if self.hangar.link.up:
            self._refresh_soon()

    # -- sessions: snapshot and poll ----------------------------------------------------------

    async def refresh_snapshot(self) -> None:
        try:
            # orphaned sessions come only with the archived ones; Home leaves those out
            params = api.SessionListParams(include_archived=True)
            listed = await self.hangar.request(calls.SESSION_LIST, params)
        except LinkDown:
            return  # the banner says why; reconnecting refreshes
        except RemoteError as exc:
            self.query_one("#sessions-note", Static).update(describe_error(exc))
            self._arm()
            return
        rows = [v.session for v in listed.sessions if v.session.status != "archived"]
        active = [r for r in rows if r.status == "active"]
        probes = await asyncio.gather(*(self._probe(r) for r in active))
        now = int(time.time() * 1000)
        states: dict[str, SessionState] = {}
        for row in rows:
            states[row.id] = SessionState(row.status, row.archived_at or row.updated_at)
        for row, probe in zip(active, probes, strict=True):
            if probe is None:
                continue
            before = self.states.get(row.id)
            if probe.state == "busy":  # busy since this screen first saw it so
                since = before.since_ms if before and before.state == "busy" else now
            else:  # idle, waiting, exited: since its screen last changed
                since = now - probe.elapsed_ms
            states[row.id] = SessionState(probe.state, since)
        self.sessions = {r.id: r for r in rows}
        self.order = [r.id for r in rows]
        self.states = states
        self._render_rows()
        self._arm()

    async def _probe(self, row: SessionRow) -> api.SessionIdleResult | None:
        """The session's state from its screen; None when the daemon could not tell (it
        went away meanwhile: the next list shows what became of it)."""
        try:
            return await self.hangar.request(calls.SESSION_IDLE, api.SessionIdleParams(id=row.id))
        except (RemoteError, LinkDown, TimeoutError):
            return None

    def _refresh_soon(self) -> None:
        """A snapshot now, or right after the one under way (never two of ours at once)."""
        if self._refreshing:
            self._refresh_again = True
            return
        self._refreshing = True
        self.run_worker(self._refresh_loop(), group="sessions")

    async def _refresh_loop(self) -> None:
        try:
            while True:
                self._refresh_again = False
                await self.refresh_snapshot()
                if not self._refresh_again:
                    return
        finally:
            self._refreshing = False

    def _arm(self) -> None:
        """The next poll, once this one is over (never two at once)."""
        if self._poll_timer is not None:
            self._poll_timer.stop()
        self._poll_timer = self.set_timer(POLL_S, self._poll)

    def _poll(self) -> None:
        self._poll_timer = None
        if self.is_current:  # elsewhere: resuming this screen polls again
            self._refresh_soon()

    def _render_rows(self) -> None:
        now = int(time.time() * 1000)
        rows = [
            (sid, session_cells(self.sessions[sid], self.states[sid], now)) for sid in self.order
        ]
        self.table.sync(rows)
        note = self.query_one("#sessions-note", Static)
        if rows:
            note.update("")
        else:
            note.update(
                "No sessions: press n to start an agent in its own tmux session and worktree."
            )

    @property
    def highlighted(self) -> SessionRow | None:
        key = self.table.current_key
        return self.sessions.get(key) if key else None

    # -- plugin screens ---------------------------------------------------------------------

    def _list_plugins(self) -> None:
        note = self.query_one("#plugins-note", Static)
        try:
            self.plugins = app_plugins(self.app, self.hangar.paths)
            entries = self.plugins.screens()
        except Exception as exc:  # a broken plugin setup must not keep Home from showing
            note.update(f"plugins unavailable: {exc}")
            return
        self.screens = {f"{e.plugin_id}/{e.screen_id}": e for e in entries}
        self.plugin_table.sync(
            [(key, (e.title, e.plugin_id, e.description)) for key, e in self.screens.items()]
        )
        skipped = self.plugins.problems()
        if not entries:
            note.update("No plugin declares a screen.")
        elif skipped:
            note.update(f"{len(skipped)} plugin(s) skipped: `ainb plugins list` says why")

    # -- intents ------------------------------------------------------------------------------

    @on(DataTable.RowSelected)
    async def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # the tables take Enter for themselves and say so
        if event.data_table.id == "plugins":
            self._open_plugin()
        else:
            await self.action_attach()

    async def action_open(self) -> None:
        if self.focused is self.plugin_table:
            self._open_plugin()
        else:
            await self.action_attach()

    def action_hangar(self) -> None:
        self.hangar.action_go("issues")

    def _open_plugin(self) -> None:
        key = self.plugin_table.current_key
        entry = self.screens.get(key) if key else None
        if entry is None or self.plugins is None:
            return
        self.app.push_screen(PluginScreen(entry, self.plugins))

    async def action_attach(self) -> None:
        row = self.highlighted
        if row is None:
            self.notify("No session is highlighted.", severity="warning")
            return
        hint = await self.hangar.rpc(calls.SESSION_ATTACH_HINT, api.SessionRef(id=row.id))
        if hint is None:
            return  # the daemon said why (not active, gone …)
        problem = handoff.hand_over(self.app, hint.argv)
        if problem is not None:
            self.notify(problem, severity="warning", timeout=10)
        # a while may have passed: what the sessions did meanwhile
        self._refresh_soon()

    def action_new(self) -> None:
        async def submit(draft: SessionDraft) -> str | None:
            params = api.SessionCreateParams(
                name=draft.name, repo_path=draft.repo_path, command=draft.command
            )
            try:
                row = await self.hangar.request(calls.SESSION_CREATE, params)
            except (RemoteError, LinkDown) as exc:
                return describe_error(exc)
            self.notify(f"session {row.name} started ({short_id(row.id)})")
            self._refresh_soon()
            return None

        self.app.push_screen(SessionForm(submit, default_repo()))

    def action_send(self) -> None:
        row = self.highlighted
        if row is None:
            self.notify("No session is highlighted.", severity="warning")
            return

        async def submit(text: str) -> str | None:
            params = api.SessionSendParams(id=row.id, text=text)
            try:
                await self.hangar.request(calls.SESSION_SEND, params)
            except (RemoteError, LinkDown) as exc:
                return describe_error(exc)
            self.notify(f"sent to {row.name}")
            return None

        self.app.push_screen(SendForm(row.name, submit))

    def action_archive(self) -> None:
        row = self.highlighted
        if row is None:
            self.notify("No session is highlighted.", severity="warning")
            return

        async def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            params = api.SessionArchiveParams(id=row.id)
            archived = await self.hangar.rpc(calls.SESSION_ARCHIVE, params)
            if archived is None:
                return  # the daemon said why (uncommitted work, …)
            self.notify(f"archived {archived.name}; its branch {archived.branch} is kept")
            await self.refresh_snapshot()

        self.app.push_screen(ArchiveConfirm(row), confirmed)


# -- the modals ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionDraft:
    name: str
    repo_path: str
    #: the agent's argv; None: the daemon's default (claude)
    command: list[str] | None


class SessionForm(Form):
    """A new session: its name, the repository, the agent command."""

    BINDING_GROUP_TITLE = "New session"

    def __init__(self, submit: Callable[[SessionDraft], Awaitable[str | None]], repo: Path):
        super().__init__()
        self._submit = submit
        self._repo = repo

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("New session  (ctrl+s starts it, esc cancels)")
            yield Input(placeholder="name: a-z 0-9 -", id="name")
            yield Input(str(self._repo), placeholder="repository path", id="repo")
            yield Input("claude", placeholder="agent command (default: claude)", id="command")
            yield Static("", classes="form-error")

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()

    async def action_submit(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        repo = self.query_one("#repo", Input).value.strip()
        command_line = self.query_one("#command", Input).value.strip()
        if not name:
            self.error("The name is missing: it names the session, its branch and worktree.")
            self.query_one("#name", Input).focus()
            return
        if not repo:
            self.error("The repository path is missing.")
            self.query_one("#repo", Input).focus()
            return
        try:
            command = shlex.split(command_line) or None
        except ValueError as exc:
            self.error(f"The agent command does not parse: {exc}")
            return
        path = os.path.abspath(os.path.expanduser(repo))
        self.error("starting the session…")
        problem = await self._submit(SessionDraft(name, path, command))
        if problem:
            self.error(problem)
            return
        self.dismiss(True)


class SendForm(Form):
    """Text to type into a session (Enter is pressed after it)."""

    BINDING_GROUP_TITLE = "Send"

    def __init__(self, name: str, submit: Callable[[str], Awaitable[str | None]]) -> None:
        super().__init__()
        self._name = name
        self._submit = submit

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Send to {self._name}  (enter sends, esc cancels)")
            yield Input(placeholder="text for the agent", id="text")
            yield Static("", classes="form-error")

    def on_mount(self) -> None:
        self.query_one("#text", Input).focus()

    async def action_submit(self) -> None:
        text = self.query_one("#text", Input).value
        if not text.strip():
            self.error("Nothing to send: type the text first.")
            return
        problem = await self._submit(text)
        if problem:
            self.error(problem)
            return
        self.dismiss(True)


class ArchiveConfirm(ModalScreen[bool]):
    BINDING_GROUP_TITLE = "Archive"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Archive", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "Keep", id="confirm.no"),
    ]
    DEFAULT_CSS = """
    ArchiveConfirm { align: center middle; }
    ArchiveConfirm > Vertical {
        width: 70; height: auto; border: thick $warning; background: $surface; padding: 1 2;
    }
    """

    def __init__(self, row: SessionRow) -> None:
        super().__init__()
        self._row = row

    def compose(self) -> ComposeResult:
        row = self._row
        text = Text()
        text.append(f"Archive session {row.name}?\n\n", style="bold")
        text.append(
            f"Its agent is stopped and its worktree removed; branch {row.branch} is kept "
            "and the session can be resumed.\n\n"
        )
        text.append("y archives · n keeps it")
        with Vertical():
            yield Static(text)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
