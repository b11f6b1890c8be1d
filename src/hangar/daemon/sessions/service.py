"""Interactive sessions: a git worktree opened in its own tmux session running an agent CLI.

The daemon is the only writer: rows live in the store, tmux and git are driven through
small adapters (argv lists, asyncio subprocesses), and idleness is tracked here from pane
captures. Every operation that finds the tmux session gone behind our back records the
session as ``orphaned`` (row and branch kept) so ``resume`` can bring it back."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import datetime as dt
import os
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from hangar.core.names import validate_session_name
from hangar.core.terminal_text import check_send_text
from hangar.daemon import git, process
from hangar.daemon.config import DEFAULT_LAUNCH_PROBE_MS
from hangar.daemon.context import DaemonContext
from hangar.daemon.sessions import claude_config, worktrees
from hangar.daemon.sessions import idle as idleness
from hangar.daemon.sessions.errors import SessionError
from hangar.daemon.sessions.tmux import DuplicateSession, PaneState, SessionGone, Tmux, TmuxError
from hangar.proto import api
from hangar.proto.rows import SessionRow
from hangar.store.errors import NotFound

DEFAULT_COMMAND = ("claude",)
DEFAULT_PREFIX = "harness-"
DEFAULT_MAX_SESSIONS = 10
MAX_SESSIONS_LIMIT = 50
DEFAULT_IDLE_MS = 5000
READ_MAX_LINES = 2000
#: how often the daemon samples every active session's screen on its own
WATCH_INTERVAL_S = 2.0
#: one send per session per this many seconds (the seed's 200 ms); later sends wait
SEND_INTERVAL_S = 0.2
#: Enter goes separately, after the paste settles, or the paste queue swallows it
ENTER_DELAY_S = 0.15
ENTER_DELAY_LONG_S = 0.25
#: how long create waits for the agent's prompt before sending ``prompt`` anyway
READY_TIMEOUT_S = 30.0
#: how long archive waits for the agent to exit after being asked
EXIT_GRACE_S = 5.0

T = TypeVar("T")


def iso(ms: int) -> str:
    return _dt(ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _agent_kind(command: list[str]) -> str:
    # compare basenames: the configured command is often an absolute path
    return Path(command[0]).name


@dataclass
class _Screen:
    hash: str | None
    changed_at_ms: int
    #: monotonic time of the last snapshot compared against this one
    sampled_at: float = 0.0


class SessionService:
    def __init__(
        self,
        ctx: DaemonContext,
        tmux: Tmux,
        *,
        prefix: str = DEFAULT_PREFIX,
        launch_probe_s: float = DEFAULT_LAUNCH_PROBE_MS / 1000,
    ) -> None:
        self.ctx = ctx
        self.tmux = tmux
        self.prefix = prefix
        self.launch_probe_s = launch_probe_s
        self._reserve_lock = asyncio.Lock()
        #: rows in 'creating' that this process is provisioning right now
        self._creating: set[str] = set()
        self._send_locks: dict[str, asyncio.Lock] = {}
        self._last_send: dict[str, float] = {}
        self._op_locks: dict[str, asyncio.Lock] = {}
        self._screens: dict[str, _Screen] = {}

    # -- lookups ------------------------------------------------------------------------

    async def get(self, workspace_id: str, ref: str) -> SessionRow:
        row = await self.ctx.store.session_get(workspace_id, ref)
        if row is None:
            raise SessionError("not_found", f"no session {ref!r} in this workspace")
        return row

    async def _active(self, workspace_id: str, ref: str) -> SessionRow:
        row = await self.get(workspace_id, ref)
        _refuse_in_flight(row)
        if row.status != "active":
            raise SessionError(
                "not_active",
                f"session {row.name!r} is {row.status}"
                + ("; `hangar session resume` relaunches it" if row.status == "orphaned" else ""),
            )
        return row

    async def _tmux_call(self, row: SessionRow, call: Callable[[], Awaitable[T]]) -> T:
        """Run a tmux call against an active session; a vanished session becomes orphaned."""
        try:
            return await call()
        except SessionGone:
            await self._orphan(row, "its tmux session is gone")
            raise SessionError(
                "not_active",
                f"session {row.name!r}: its tmux session {row.tmux_session} is gone; "
                "it is now orphaned (`hangar session resume` relaunches it)",
            ) from None
        except TmuxError as exc:
            raise SessionError("tmux_error", f"session {row.name!r}: {exc}") from None

    async def _capture(self, row: SessionRow, call: Callable[[], Awaitable[str]]) -> str:
        """:meth:`_tmux_call` for reading the screen: a failing tmux is ``capture_failed``."""
        try:
            return await self._tmux_call(row, call)
        except SessionError as exc:
            if exc.kind == "tmux_error":
                raise SessionError("capture_failed", exc.message) from None
            raise

    async def _orphan(self, row: SessionRow, why: str) -> None:
        # conditional: a caller holding an old row must not undo an archive or a delete
        if await self.ctx.store.session_set_status_if(row.id, expected="active", status="orphaned"):
            self.ctx.log.warning(
                "session orphaned", session=row.name, tmux=row.tmux_session, why=why
            )

    async def _pane(self, row: SessionRow) -> PaneState:
        """The agent's pane, checked to still belong to the session (a pane id outlives
        nothing: after a tmux restart it may name someone else's pane)."""
        return await self._tmux_call(
            row, lambda: self.tmux.pane_state(row.tmux_session, pane=row.pane_id)
        )

    def _op_lock(self, session_id: str) -> asyncio.Lock:
        return self._op_locks.setdefault(session_id, asyncio.Lock())

    # -- create -------------------------------------------------------------------------

    async def create(self, workspace_id: str, p: api.SessionCreateParams) -> SessionRow:
        try:
            name = validate_session_name(p.name)
        except ValueError as exc:
            raise SessionError("invalid_name", str(exc)) from None
        prefix = self.prefix if p.session_prefix is None else p.session_prefix
        _check_prefix(prefix)
        cap = _check_cap(p.max_sessions)
        threshold = DEFAULT_IDLE_MS if p.idle_threshold_ms is None else p.idle_threshold_ms
        _check_threshold(threshold)
        command = list(p.command or DEFAULT_COMMAND)
        if not command or not all(isinstance(a, str) and a for a in command):
            raise SessionError("invalid_params", "command must be a non-empty list of arguments")
        executable = self._executable(command)
        repo = await _toplevel(p.repo_path)
        root = Path(p.worktree_root).expanduser() if p.worktree_root else repo.parent / "worktrees"
        worktree = (root if root.is_absolute() else repo / root) / name
        with _git_errors():
            # stored: delete's "is this work anywhere else?" check compares against it
            base = p.base_branch or await worktrees.default_base(repo)
            branch = p.branch or name
            refused = await worktrees.check_branch_name(repo, branch)
        if refused:
            what = "branch" if p.branch else "session name, or name a branch"
            raise SessionError("invalid_params", f"{refused}; choose another {what}")

        row = await self._reserve(
            workspace_id,
            cap=cap,
            name=name,
            repo_path=str(repo),
            worktree_path=str(worktree),
            branch=branch,
            base_branch=base,
            tmux_session=prefix + name,
            command=command,
            agent_session_id=str(uuid.uuid4()) if _agent_kind(command) == "claude" else None,
            meta=dict(p.meta or {}),
            idle_threshold_ms=threshold,
        )
        row = await self._provision(row, executable)
        self.ctx.log.info(
            "session created", session=name, tmux=row.tmux_session, worktree=str(worktree)
        )
        if p.prompt:
            try:
                await self._wait_ready(row)
                await self.send(workspace_id, row.id, p.prompt, press_enter=True)
            except SessionError as exc:
                raise SessionError(
                    exc.kind,
                    f"session {name!r} was created, but its prompt was not sent: " + exc.message,
                ) from None
        return row

    async def _reserve(self, workspace_id: str, *, cap: int, **fields: Any) -> SessionRow:
        """Check name, tmux name, worktree path and the cap, and hold them with a row in
        ``creating``: the row is the reservation, so two creates cannot both squeeze under
        the cap, and a crash mid-create leaves a record that boot recovery undoes."""
        name, tmux_name = fields["name"], fields["tmux_session"]
        async with self._reserve_lock:
            if await self.ctx.store.session_get(workspace_id, name) is not None:
                raise SessionError(
                    "name_taken",
                    f"a session named {name!r} already exists in this workspace "
                    "(archived sessions keep their name until deleted)",
                )
            holder = await self.ctx.store.session_holder(
                tmux_session=tmux_name, worktree_path=fields["worktree_path"]
            )
            if holder is not None:
                raise SessionError(
                    "name_taken",
                    f"tmux session {tmux_name!r} or worktree {fields['worktree_path']} belongs "
                    f"to session {holder.name!r} ({holder.status}) of another workspace",
                )
            await self._check_capacity(workspace_id, fields["repo_path"], cap)
            if os.path.lexists(fields["worktree_path"]):
                raise SessionError(
                    "name_taken",
                    f"{fields['worktree_path']} already exists; pick another name or "
                    "worktree root (a stale worktree: `git worktree prune`)",
                )
            if await self._tmux_has(tmux_name):
                raise SessionError(
                    "name_taken", f"a tmux session named {tmux_name!r} already exists"
                )
            return await self.ctx.store.session_create(workspace_id, status="creating", **fields)

    async def _check_capacity(self, workspace_id: str, repo_path: str, cap: int) -> None:
        live = await self.ctx.store.session_count_live(workspace_id, repo_path)
        if live >= cap:
            raise SessionError(
                "capacity_reached",
                f"{live} sessions of this repository are active and the cap is {cap}; "
                "archive or delete one first",
            )

    async def _tmux_has(self, name: str) -> bool:
        try:
            return await self.tmux.has_session(name)
        except TmuxError as exc:
            raise SessionError("tmux_error", str(exc)) from None

    async def _provision(self, row: SessionRow, executable: str) -> SessionRow:
        """worktree → tmux session → agent launch → active; a failing step undoes the earlier
        ones and drops the reservation."""
        repo, worktree = Path(row.repo_path), Path(row.worktree_path)
        undo: list[Callable[[], Awaitable[Any]]] = []
        self._creating.add(row.id)
        try:
            with _git_errors():
                owns_branch = not await worktrees.branch_exists(repo, row.branch)
            if owns_branch:  # recorded first: boot recovery must know whose branch it is
                row = await self.ctx.store.session_patch(row.workspace_id, row.id, owns_branch=True)

            async def drop_worktree() -> None:
                # the path was free at reservation, so whatever is there now is ours, even
                # the locked half of an add that was cut short
                await worktrees.remove(repo, worktree, force=True, locked_too=True)
                if owns_branch:  # only after the worktree: git keeps checked-out branches
                    await worktrees.delete_branch(repo, row.branch)

            undo.append(drop_worktree)
            await self._add_worktree(row, base=row.base_branch)
            pane = await self._launch(row, executable, undo)
            row = await self.ctx.store.session_patch(
                row.workspace_id, row.id, status="active", pane_id=pane
            )
            return row
        except BaseException:
            await self._undo(undo)
            with contextlib.suppress(Exception):
                await self.ctx.store.session_delete(row.workspace_id, row.id)
            raise
        finally:
            self._creating.discard(row.id)

    async def _undo(self, steps: list[Callable[[], Awaitable[Any]]]) -> None:
        for step in reversed(steps):
            try:
                await step()
            except Exception as exc:  # keep undoing: one stuck step must not strand the rest
                self.ctx.log.warning("session rollback step failed", error=str(exc))

    async def _add_worktree(self, row: SessionRow, *, base: str | None) -> None:
        """Add the row's worktree (on its existing branch, or a new one from ``base``)."""
        repo = Path(row.repo_path)
        with _git_errors():
            existed = await worktrees.branch_exists(repo, row.branch)
            if base is None and not existed:
                base = await worktrees.default_base(repo)
            await worktrees.add(
                repo, Path(row.worktree_path), row.branch, None if existed else base
            )

    async def _launch(
        self, row: SessionRow, executable: str, undo: list[Callable[[], Awaitable[Any]]]
    ) -> str:
        """Start the agent in a new tmux session; the pane id once it survived the probe.
        The kill step is registered before new-session: a call that times out may still
        have made the session, and a reserved name is ours."""
        worktree = Path(row.worktree_path)
        argv = await self._launch_argv(row.command, executable, worktree, row.agent_session_id)
        undo.append(lambda: self.tmux.kill_session(row.tmux_session))
        try:
            pane = await self.tmux.new_session(
                row.tmux_session, worktree, argv, env={"HANGAR_SESSION": row.name}
            )
        except DuplicateSession:
            undo.pop()  # somebody else's session took the name meanwhile: never kill it
            raise SessionError(
                "name_taken", f"a tmux session named {row.tmux_session!r} already exists"
            ) from None
        except TmuxError as exc:
            raise SessionError("tmux_error", f"could not start tmux session: {exc}") from None
        await self._probe_launch(row, pane)
        return pane

    def _executable(self, command: list[str]) -> str:
        found = shutil.which(command[0], path=self.ctx.parent_env.get("PATH"))
        if found is None:
            raise SessionError(
                "agent_not_found",
                f"agent command {command[0]!r} was not found on the daemon's PATH; "
                "install it or configure the full path",
            )
        return found

    async def _launch_argv(
        self, command: list[str], executable: str, worktree: Path, agent_session_id: str | None
    ) -> list[str]:
        argv = [executable, *command[1:]]
        if agent_session_id is None:
            return argv
        # Claude asks "do you trust this folder?" for every new path: answer it beforehand
        try:
            await claude_config.trust_worktree_async(worktree)
        except (OSError, ValueError) as exc:
            raise SessionError(
                "launch_failed", f"could not pre-accept Claude's trust: {exc}"
            ) from None
        if claude_config.has_transcript(worktree, agent_session_id):
            return [*argv, "--resume", agent_session_id]
        return [*argv, "--session-id", agent_session_id]

    async def _probe_launch(self, row: SessionRow, pane: str) -> None:
        """An agent that dies at once (bad flag, no auth) fails the create with its output."""
        await asyncio.sleep(self.launch_probe_s)
        try:
            state = await self.tmux.pane_state(row.tmux_session, pane=pane)
            if not state.dead:
                return
            output = await self.tmux.capture(row.tmux_session, idleness.SAMPLE_LINES, pane=pane)
        except TmuxError as exc:
            raise SessionError(
                "launch_failed", f"the agent's tmux session vanished: {exc}"
            ) from None
        raise SessionError(
            "launch_failed", f"the agent exited at once ({_ending(state)}){_last_words(output)}"
        )

    async def _wait_ready(self, row: SessionRow) -> None:
        """Until the agent shows its prompt and the screen holds still. A dead agent or a
        dialog still showing at READY_TIMEOUT_S means the prompt must not be typed: an
        Enter would pick the dialog's default (for the bypass warning: "No, exit")."""
        agent = _agent_kind(row.command)
        deadline = time.monotonic() + READY_TIMEOUT_S
        previous: str | None = None
        while True:
            state = await self._pane(row)
            content = await self._tmux_call(
                row,
                lambda: self.tmux.capture(
                    row.tmux_session, idleness.SAMPLE_LINES, pane=row.pane_id
                ),
            )
            if state.dead:
                raise SessionError(
                    "launch_failed",
                    f"the agent exited before it was ready ({_ending(state)})"
                    + _last_words(content),
                )
            if content == previous and idleness.is_ready(content, agent):
                return
            if time.monotonic() >= deadline:
                if idleness.is_waiting(content):
                    raise SessionError(
                        "launch_failed",
                        "the agent is showing a question or dialog; attach to answer it, "
                        "then send the prompt",
                    )
                self.ctx.log.warning(
                    "session not ready in time; sending the prompt anyway", session=row.name
                )
                return
            previous = content
            await asyncio.sleep(0.25)

    # -- list ---------------------------------------------------------------------------

    async def list(self, workspace_id: str, p: api.SessionListParams) -> api.SessionListResult:
        if p.wait_for_idle not in ("none", "any", "all"):
            raise SessionError(
                "invalid_params", f"wait_for_idle must be none, any or all, not {p.wait_for_idle!r}"
            )
        repo = None if p.repo_path is None else str(await _toplevel(p.repo_path))
        await self._reconcile_workspace(workspace_id)
        rows = await self.ctx.store.session_list(
            workspace_id, include_archived=p.include_archived, repo_path=repo
        )
        if p.wait_for_idle == "none":
            return api.SessionListResult(sessions=[api.SessionView(session=r) for r in rows])
        _check_timeout(p.timeout_ms)
        want_all = p.wait_for_idle == "all"
        deadline = time.monotonic() + p.timeout_ms / 1000
        while True:
            states: dict[str, str] = {}
            for r in rows:
                if r.status == "active":
                    # a session archived or deleted meanwhile simply drops out of the wait
                    with contextlib.suppress(SessionError, NotFound):
                        states[r.id] = (await self._observe(r, p.threshold_ms)).state
            settled = [s != "busy" for s in states.values()]
            done = bool(settled) and (all(settled) if want_all else any(settled))
            timed_out = not done and time.monotonic() >= deadline
            if done or timed_out or not states:
                views = [api.SessionView(session=r, state=states.get(r.id)) for r in rows]
                return api.SessionListResult(sessions=views, timed_out=timed_out)
            await asyncio.sleep(min(0.5, max(0.0, deadline - time.monotonic())))

    # -- send / read --------------------------------------------------------------------

    async def send(self, workspace_id: str, ref: str, text: str, *, press_enter: bool) -> None:
        try:
            check_send_text(text)
        except ValueError as exc:
            raise SessionError("invalid_text", str(exc)) from None
        row = await self._active(workspace_id, ref)
        async with self._send_lock(row.id):
            # the seed's rate limit, as HEAD does it: wait instead of failing the caller
            wait = self._last_send.get(row.id, 0.0) + SEND_INTERVAL_S - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_send[row.id] = time.monotonic()
            state = await self._pane(row)
            if state.dead:
                raise SessionError(
                    "not_active",
                    f"the agent of session {row.name!r} has exited ({_ending(state)}); "
                    f"`hangar session resume {row.name}` relaunches it",
                )
            pane = row.pane_id
            if text:
                await self._tmux_call(
                    row, lambda: self.tmux.send_text(row.tmux_session, text, pane=pane)
                )
            if press_enter:
                if text:
                    await asyncio.sleep(ENTER_DELAY_LONG_S if len(text) > 200 else ENTER_DELAY_S)
                await self._tmux_call(
                    row, lambda: self.tmux.send_keys(row.tmux_session, "Enter", pane=pane)
                )
            if text or press_enter:
                try:
                    await self._note_input(row)
                except Exception as exc:  # the text is in the pane: the send succeeded
                    self.ctx.log.warning(
                        "session send: idle clock not restarted", session=row.name, error=str(exc)
                    )

    async def _screen(self, row: SessionRow) -> _Screen:
        """The idle tracker's state for ``row``, loaded from the store the first time."""
        screen = self._screens.get(row.id)
        if screen is None:
            last_hash, changed_ms = await self.ctx.store.session_screen(row.workspace_id, row.id)
            screen = self._screens[row.id] = _Screen(last_hash, changed_ms)
        return screen

    async def _note_input(self, row: SessionRow) -> None:
        """Input restarts the idle clock: a wait begun right after a send must not take the
        screen from before the agent reacted for settled work (Enter alone often changes
        nothing visible until the agent prints)."""
        screen = await self._screen(row)
        screen.changed_at_ms = self.ctx.clock.now_ms()
        if screen.hash is not None:  # with no snapshot yet, the next one counts as a change
            await self.ctx.store.session_record_screen(
                row.id, last_hash=screen.hash, last_changed_at=screen.changed_at_ms
            )

    def _send_lock(self, session_id: str) -> asyncio.Lock:
        return self._send_locks.setdefault(session_id, asyncio.Lock())

    async def read(self, workspace_id: str, p: api.SessionReadParams) -> api.SessionReadResult:
        if not 1 <= p.lines <= READ_MAX_LINES:
            raise SessionError("invalid_params", f"lines must be 1-{READ_MAX_LINES}, not {p.lines}")
        if p.since_line is not None and p.since_line < 0:
            raise SessionError("invalid_params", "since_line must be 0 or more")
        row = await self._active(workspace_id, p.id)
        await self._pane(row)
        now = iso(self.ctx.clock.now_ms())
        name, pane = row.tmux_session, row.pane_id
        if p.since_line is None:
            content = await self._capture(row, lambda: self.tmux.capture(name, p.lines, pane=pane))
            return api.SessionReadResult(content=content, captured_at=now)
        history = await self._capture(row, lambda: self.tmux.capture_history(name, pane=pane))
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

    # -- idle ---------------------------------------------------------------------------

    async def idle(
        self, workspace_id: str, ref: str, threshold_ms: int | None
    ) -> api.SessionIdleResult:
        row = await self._active(workspace_id, ref)
        obs = await self._observe(row, threshold_ms)
        return _idle_result(obs)

    async def wait_idle(
        self, workspace_id: str, p: api.SessionWaitIdleParams
    ) -> api.SessionWaitIdleResult:
        _check_timeout(p.timeout_ms)
        if not 10 <= p.poll_interval_ms <= 60_000:
            raise SessionError(
                "invalid_params", f"poll_interval_ms must be 10-60000, not {p.poll_interval_ms}"
            )
        row = await self._active(workspace_id, p.id)
        deadline = time.monotonic() + p.timeout_ms / 1000
        while True:
            obs = await self._observe(row, p.threshold_ms)
            # a question or a dead agent ends the wait too: both need the orchestrator now
            settled = obs.state != "busy"
            if settled or time.monotonic() >= deadline:
                base = _idle_result(obs)
                return api.SessionWaitIdleResult(
                    **{f: getattr(base, f) for f in base.__struct_fields__},
                    timed_out=not settled,
                )
            await asyncio.sleep(
                min(p.poll_interval_ms / 1000, max(0.0, deadline - time.monotonic()))
            )

    async def _observe(self, row: SessionRow, threshold_ms: int | None) -> idleness.Observation:
        threshold = row.idle_threshold_ms if threshold_ms is None else threshold_ms
        _check_threshold(threshold)
        state = await self._pane(row)
        content = await self._capture(
            row,
            lambda: self.tmux.capture(row.tmux_session, idleness.SAMPLE_LINES, pane=row.pane_id),
        )
        return await self._record(row, content, threshold, pane_dead=state.dead)

    async def _record(
        self, row: SessionRow, content: str, threshold_ms: int, *, pane_dead: bool
    ) -> idleness.Observation:
        """Compare a snapshot with the last one; a change is kept (and persisted)."""
        screen = await self._screen(row)
        screen.sampled_at = time.monotonic()
        now_ms = self.ctx.clock.now_ms()
        obs = idleness.observe(
            content,
            prev_hash=screen.hash,
            last_changed_at=_dt(screen.changed_at_ms),
            now=_dt(now_ms),
            threshold_ms=threshold_ms,
            agent=_agent_kind(row.command),
            pane_dead=pane_dead,
        )
        if obs.changed:
            screen.hash, screen.changed_at_ms = obs.hash, now_ms
            await self.ctx.store.session_record_screen(
                row.id, last_hash=obs.hash, last_changed_at=now_ms
            )
        return obs

    async def _sample_is_current(self, row: SessionRow, started: float) -> bool:
        """Whether a background capture begun at ``started`` may still be recorded: no
        newer snapshot was recorded meanwhile, and the session is the same active one
        (not archived, deleted or relaunched in a new pane while tmux answered)."""
        screen = self._screens.get(row.id)
        if self._op_lock(row.id).locked() or (screen is not None and screen.sampled_at > started):
            return False
        now = await self.ctx.store.session_get(row.workspace_id, row.id)
        return now is not None and now.status == "active" and now.pane_id == row.pane_id

    async def watch(self, interval_s: float = WATCH_INTERVAL_S) -> None:
        """Sample every active session's screen in the background, so that the first idle
        check of a session that has been quiet for minutes knows since when (without it,
        a first snapshot can only count as a change: busy, quiet for 0 ms)."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                rows = await self.ctx.store.session_list_in_status("active")
            except Exception as exc:  # a store hiccup: the next round tries again
                self.ctx.log.warning("session watch: listing failed", error=str(exc))
                continue
            for row in rows:
                screen = self._screens.get(row.id)
                recent = screen is not None and time.monotonic() - screen.sampled_at < interval_s
                if recent or self._op_lock(row.id).locked():  # archive, delete, resume at work
                    continue
                try:
                    started = time.monotonic()
                    content = await self.tmux.capture(
                        row.tmux_session, idleness.SAMPLE_LINES, pane=row.pane_id
                    )
                    if await self._sample_is_current(row, started):
                        await self._record(row, content, row.idle_threshold_ms, pane_dead=False)
                except (TmuxError, NotFound):
                    pass  # gone or failing: orphaning is for the calls a caller waits on
                except Exception as exc:
                    self.ctx.log.warning("session watch failed", session=row.name, error=str(exc))

    # -- attach -------------------------------------------------------------------------

    async def attach_hint(self, workspace_id: str, ref: str) -> api.SessionAttachHint:
        row = await self._active(workspace_id, ref)
        return api.SessionAttachHint(
            command=self.tmux.attach_hint(row.tmux_session),
            argv=self.tmux.attach_argv(row.tmux_session),
        )

    # -- archive / delete / resume ------------------------------------------------------

    async def archive(self, workspace_id: str, ref: str, *, force: bool) -> SessionRow:
        row = await self.get(workspace_id, ref)
        async with self._op_lock(row.id):
            row = await self.get(workspace_id, row.id)
            if row.status == "archived":
                return row
            _refuse_in_flight(row)
            worktree = Path(row.worktree_path)
            await self._refuse_dirty(row, worktree, force=force, verb="archive")
            await self._stop_agent(row)
            # the agent may have written while it exited: look again before removing
            try:
                await self._refuse_dirty(row, worktree, force=force, verb="archive")
                await worktrees.remove(Path(row.repo_path), worktree, force=force)
            except SessionError as exc:
                await self._orphan(row, "stopped by archive, worktree kept")
                raise SessionError(
                    exc.kind,
                    exc.message + "; the agent was stopped and the session is now orphaned "
                    "(resume it, or archive again)",
                ) from None
            except git.GitError as exc:
                await self._orphan(row, "stopped by archive, worktree kept")
                raise SessionError("git_error", f"{exc}; the session is now orphaned") from None
            self._forget(row.id)
            archived = await self.ctx.store.session_patch(
                workspace_id,
                row.id,
                status="archived",
                archived_at=self.ctx.clock.now_ms(),
                pane_id=None,
            )
        self.ctx.log.info("session archived", session=row.name, branch=row.branch)
        return archived

    async def delete(
        self, workspace_id: str, ref: str, *, confirm: bool, force: bool
    ) -> api.SessionDeleteResult:
        row = await self.get(workspace_id, ref)
        if not confirm:
            raise SessionError(
                "delete_not_confirmed",
                f"deleting session {row.name!r} removes its worktree"
                + (f" and branch {row.branch!r}" if row.owns_branch else "")
                + " for good; pass confirm=true",
            )
        async with self._op_lock(row.id):
            row = await self.get(workspace_id, row.id)
            if row.status == "creating" and row.id not in self._creating:
                # a create a crash cut short and boot recovery could not undo: finish it now
                if not await self._undo_interrupted_create(row):
                    raise SessionError(
                        "git_error", f"could not clean up the interrupted create of {row.name!r}"
                    )
                return api.SessionDeleteResult(deleted=True, id=row.id)
            _refuse_in_flight(row)
            repo, worktree = Path(row.repo_path), Path(row.worktree_path)
            has_worktree = row.status != "archived" and worktree.is_dir()
            if has_worktree:
                await self._refuse_dirty(row, worktree, force=force, verb="delete")
            if row.owns_branch and not force:
                await self._refuse_unpushed(row)
            if row.status == "active":
                await self._kill_own(row)
            with _git_errors():
                if has_worktree:
                    await worktrees.remove(repo, worktree, force=True)
                if row.owns_branch:  # a branch that existed before the session stays
                    await worktrees.delete_branch(repo, row.branch)
            await self.ctx.store.session_delete(workspace_id, row.id)
            self._forget(row.id)
        self.ctx.log.info(
            "session deleted", session=row.name, branch=row.branch, branch_kept=not row.owns_branch
        )
        return api.SessionDeleteResult(deleted=True, id=row.id)

    async def _refuse_unpushed(self, row: SessionRow) -> None:
        with _git_errors():
            ahead = await worktrees.unique_commits(Path(row.repo_path), row.branch, row.base_branch)
        if ahead:
            raise SessionError(
                "unpushed_commits",
                f"branch {row.branch!r} has {ahead} commit(s) found on no remote and not in "
                f"{row.base_branch or 'the base branch'}; push or merge them, or pass "
                "force=true to delete them",
            )

    async def resume(
        self, workspace_id: str, ref: str, *, max_sessions: int | None = None
    ) -> SessionRow:
        """Relaunch an orphaned, archived or exited session in its worktree, keeping the
        agent's own conversation (Claude: ``--resume <session id>``)."""
        cap = _check_cap(max_sessions)
        row = await self.get(workspace_id, ref)
        async with self._op_lock(row.id):
            row = await self.get(workspace_id, row.id)
            _refuse_in_flight(row)
            if row.status == "active":
                try:
                    state = await self.tmux.pane_state(row.tmux_session, pane=row.pane_id)
                    if not state.dead:
                        return row  # already running: nothing to resume
                    await self.tmux.kill_session(row.tmux_session)
                except SessionGone:
                    pass
                except TmuxError as exc:
                    raise SessionError("tmux_error", str(exc)) from None
                return await self._relaunch(row)
            if await self._tmux_has(row.tmux_session):
                raise SessionError(
                    "name_taken",
                    f"a tmux session named {row.tmux_session!r} already exists, but the "
                    "agent's pane is not in it (closed by hand, with a split left behind, or "
                    f"someone else's session): `tmux kill-session -t ={row.tmux_session}` or "
                    "rename it, then resume again",
                )
            previous = row.status
            async with self._reserve_lock:  # the slot is held, not just checked
                await self._check_capacity(workspace_id, row.repo_path, cap)
                if not await self.ctx.store.session_set_status_if(
                    row.id, expected=previous, status="resuming"
                ):
                    raise SessionError("not_active", f"session {row.name!r} changed meanwhile")
            try:
                return await self._relaunch(row)
            except BaseException:
                await self.ctx.store.session_set_status_if(
                    row.id, expected="resuming", status=previous
                )
                raise

    async def _relaunch(self, row: SessionRow) -> SessionRow:
        executable = self._executable(row.command)
        worktree = Path(row.worktree_path)
        undo: list[Callable[[], Awaitable[Any]]] = []
        if not worktree.is_dir():
            if row.status == "active":
                raise SessionError(
                    "git_error", f"the worktree {worktree} is gone; delete the session"
                )
            # archived (or orphaned mid-resume): the branch was kept, the worktree comes back
            await self._add_worktree(row, base=None)
            undo.append(lambda: worktrees.remove(Path(row.repo_path), worktree, force=True))
        try:
            pane = await self._launch(row, executable, undo)
        except BaseException:
            await self._undo(undo)
            raise
        self._forget(row.id)
        resumed = await self.ctx.store.session_patch(
            row.workspace_id, row.id, status="active", archived_at=None, pane_id=pane
        )
        self.ctx.log.info("session resumed", session=row.name)
        return resumed

    async def _refuse_dirty(
        self, row: SessionRow, worktree: Path, *, force: bool, verb: str
    ) -> None:
        if force or not worktree.is_dir():
            return
        with _git_errors():
            dirty = await worktrees.is_dirty(worktree)
        if dirty:
            raise SessionError(
                "dirty_worktree",
                f"session {row.name!r} has uncommitted changes in {worktree}; commit or stash "
                f"them, or pass force=true to {verb} anyway (they will be lost)",
            )

    async def _kill_own(self, row: SessionRow) -> None:
        """Kill the session's tmux session, but only after checking its pane is the agent's:
        a same-named session somebody started by hand is never ours to kill."""
        try:
            state = await self.tmux.pane_state(row.tmux_session, pane=row.pane_id)
            if row.pane_id is None:
                return
            members = await self._members(state)
            await self.tmux.kill_session(row.tmux_session)
        except SessionGone:
            return
        except TmuxError as exc:
            raise SessionError("tmux_error", f"could not stop the agent: {exc}") from None
        await self._end_leftovers(row, members)

    @staticmethod
    async def _members(state: PaneState) -> builtins.list[process.ProcessId]:
        """The processes of a live pane's session (its leader alive, the id is its own)."""
        if state.dead or state.pid is None:
            return []
        return await asyncio.to_thread(process.session_members, state.pid)

    async def _end_leftovers(
        self, row: SessionRow, members: builtins.list[process.ProcessId]
    ) -> None:
        """A killed tmux session only hangs up on its pane: an agent (or a child of it) that
        ignores SIGHUP lives on. Those of the listed processes still running are ended."""
        killed = await process.end_processes(members)
        if killed:
            self.ctx.log.warning(
                "agent processes outlived their tmux session; killed",
                session=row.name,
                pids=killed,
            )

    async def _stop_agent(self, row: SessionRow) -> None:
        """Ask the agent to exit, give it EXIT_GRACE_S, then kill its tmux session and
        whatever is left of the processes it ran."""
        if row.status != "active" or row.pane_id is None:
            return  # orphaned: the tmux session is gone, or a stranger's by that name
        name, pane = row.tmux_session, row.pane_id
        async with self._send_lock(row.id):  # never interleave with a send's keystrokes
            try:
                state = await self.tmux.pane_state(name, pane=pane)
                members = await self._members(state)
                if not state.dead:
                    await self.tmux.send_keys(name, "C-u", pane=pane)  # clear a half-typed line
                    if _agent_kind(row.command) == "claude":
                        await self.tmux.send_text(name, "/exit", pane=pane)
                        await asyncio.sleep(ENTER_DELAY_S)
                        await self.tmux.send_keys(name, "Enter", pane=pane)
                    else:
                        await self.tmux.send_keys(name, "C-d", pane=pane)  # EOF: shells, cat
                    deadline = time.monotonic() + EXIT_GRACE_S
                    while (
                        time.monotonic() < deadline
                        and not (state := await self.tmux.pane_state(name, pane=pane)).dead
                    ):
                        await asyncio.sleep(0.1)
                    # still running: add what it started during the grace
                    members = sorted({*members, *await self._members(state)})
                await self.tmux.kill_session(name)
            except SessionGone:
                return
            except TmuxError as exc:
                raise SessionError("tmux_error", f"could not stop the agent: {exc}") from None
            # by pid and start time, as listed: a pid reused meanwhile is never touched
            await self._end_leftovers(row, members)

    def _forget(self, session_id: str) -> None:
        self._screens.pop(session_id, None)
        self._last_send.pop(session_id, None)

    # -- reconciliation -----------------------------------------------------------------

    async def reconcile(self) -> None:
        """Boot: undo creates a crash interrupted; an active session whose tmux session is
        gone becomes orphaned (row and branch kept); a prefixed tmux session with no row is
        logged, never killed."""
        for row in await self.ctx.store.session_list_in_status("creating"):
            await self._undo_interrupted_create(row)
        for row in await self.ctx.store.session_list_in_status("resuming"):
            # its worktree and branch hold work: keep them, and let resume try again
            await self.ctx.store.session_set_status_if(
                row.id, expected="resuming", status="orphaned"
            )
        try:
            live = set(await self.tmux.list_sessions())
        except TmuxError as exc:
            self.ctx.log.warning("session reconcile skipped: tmux failed", error=str(exc))
            return
        for row in await self.ctx.store.session_list_in_status("active"):
            if row.tmux_session not in live:
                await self._orphan(row, "tmux session missing at startup")
        known = await self.ctx.store.session_tmux_names()
        for name in sorted(live - known):
            if self.prefix and name.startswith(self.prefix):
                self.ctx.log.warning(
                    "tmux session with the session prefix has no row; leaving it alone",
                    tmux=name,
                )

    async def _undo_interrupted_create(self, row: SessionRow) -> bool:
        repo, worktree = Path(row.repo_path), Path(row.worktree_path)
        try:
            # the reserved name was free when the create began, so a session by it is ours
            await self.tmux.kill_session(row.tmux_session)
            if os.path.lexists(worktree):
                await worktrees.remove(repo, worktree, force=True, locked_too=True)
            if row.owns_branch:
                await worktrees.delete_branch(repo, row.branch)
            await self.ctx.store.session_delete(row.workspace_id, row.id)
        except (TmuxError, git.GitError) as exc:
            self.ctx.log.warning(
                "could not undo an interrupted session create; `hangar session delete` retries",
                session=row.name,
                error=str(exc),
            )
            return False
        self.ctx.log.warning("undid a session create interrupted by a crash", session=row.name)
        return True

    async def _reconcile_workspace(self, workspace_id: str) -> None:
        rows = await self.ctx.store.session_list(workspace_id)
        if not rows:
            return
        try:
            live = set(await self.tmux.list_sessions())
        except TmuxError:
            return
        for row in rows:
            if row.tmux_session not in live:
                await self._orphan(row, "tmux session missing")


def _refuse_in_flight(row: SessionRow) -> None:
    if row.status in ("creating", "resuming"):
        verb = "created" if row.status == "creating" else "resumed"
        raise SessionError("not_active", f"session {row.name!r} is being {verb} right now")


def _ending(state: PaneState) -> str:
    if state.signal is not None:
        return f"killed by signal {state.signal}"
    return f"status {state.exit_status}" if state.exit_status is not None else "status unknown"


def _last_words(output: str) -> str:
    # tmux's own "Pane is dead" footer says nothing the status doesn't
    said = [ln for ln in output.splitlines() if ln.strip() and not ln.startswith("Pane is dead")]
    return ("; last output: " + " | ".join(said[-5:])) if said else ""


@contextlib.contextmanager
def _git_errors() -> Iterator[None]:
    """A failed git command reaches the caller as ``git_error`` with git's own words."""
    try:
        yield
    except git.GitError as exc:
        raise SessionError("git_error", str(exc)) from None


async def _toplevel(path: str) -> Path:
    with _git_errors():
        return await git.toplevel(Path(path).expanduser())


def _check_cap(max_sessions: int | None) -> int:
    cap = DEFAULT_MAX_SESSIONS if max_sessions is None else max_sessions
    if not 1 <= cap <= MAX_SESSIONS_LIMIT:
        raise SessionError(
            "invalid_params", f"max_sessions must be 1-{MAX_SESSIONS_LIMIT}, not {cap}"
        )
    return cap


def _dt(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def _idle_result(obs: idleness.Observation) -> api.SessionIdleResult:
    changed_ms = int(obs.last_changed_at.timestamp() * 1000)
    return api.SessionIdleResult(
        idle=obs.idle,
        state=obs.state,
        last_changed_at=iso(changed_ms),
        elapsed_ms=obs.elapsed_ms,
        threshold_ms=obs.threshold_ms,
    )


def _check_prefix(prefix: str) -> None:
    # tmux rewrites '.' and ':' in session names, so keep to the name alphabet
    if len(prefix) > 30 or any(not (c.islower() or c.isdigit() or c == "-") for c in prefix):
        raise SessionError(
            "invalid_params",
            f"session prefix {prefix!r} may hold only up to 30 lowercase letters, digits, hyphens",
        )


def _check_threshold(threshold_ms: int) -> None:
    if not 1 <= threshold_ms <= 3_600_000:
        raise SessionError("invalid_params", f"threshold_ms must be 1-3600000, not {threshold_ms}")


def _check_timeout(timeout_ms: int) -> None:
    if not 0 <= timeout_ms <= 86_400_000:
        raise SessionError("invalid_params", f"timeout_ms must be 0-86400000, not {timeout_ms}")
