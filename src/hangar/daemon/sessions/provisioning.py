"""Bringing a session up: reserve its names, add its worktree, pre-accept Claude's trust,
start the agent in a new tmux session, and check it survives its first moments.

The reservation is a row in ``creating`` (or ``resuming``): two creates cannot both
squeeze under the cap, and a crash mid-create leaves a record that boot recovery undoes.
Every step registers how to undo itself first; a failing step undoes the earlier ones."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hangar.daemon.environment import AgentEnvError, AgentEnvironment
from hangar.daemon.sessions import claude_config, worktrees
from hangar.daemon.sessions import idle as idleness
from hangar.daemon.sessions.access import (
    Log,
    SessionAccess,
    ending,
    git_errors,
    last_words,
    session_agent,
)
from hangar.daemon.sessions.errors import SessionError
from hangar.daemon.sessions.tmux import DuplicateSession, Tmux, TmuxError
from hangar.proto.rows import SessionRow

if TYPE_CHECKING:
    from hangar.store import Store

#: how long create waits for the agent's prompt before sending ``prompt`` anyway
READY_TIMEOUT_S = 30.0

Undo = list[Callable[[], Awaitable[Any]]]


class Provisioner:
    def __init__(
        self,
        *,
        access: SessionAccess,
        store: Store,
        tmux: Tmux,
        log: Log,
        parent_env: Mapping[str, str],
        environment: AgentEnvironment,
        launch_probe_s: float,
    ) -> None:
        self.access = access
        self.store = store
        self.tmux = tmux
        self.log = log
        self.parent_env = parent_env
        self.environment = environment
        self.launch_probe_s = launch_probe_s
        self._reserve_lock = asyncio.Lock()
        #: rows in 'creating' that this process is provisioning right now
        self._creating: set[str] = set()

    def is_creating(self, session_id: str) -> bool:
        """Whether this process is provisioning the row (not a create a crash cut short)."""
        return session_id in self._creating

    # -- reservations -------------------------------------------------------------------

    async def reserve(self, workspace_id: str, *, cap: int, **fields: Any) -> SessionRow:
        """Check name, tmux name, worktree path and the cap, and hold them with a row in
        ``creating``."""
        name, tmux_name, path = fields["name"], fields["tmux_session"], fields["worktree_path"]
        async with self._reserve_lock:
            if await self.store.session_get(workspace_id, name) is not None:
                raise SessionError(
                    "name_taken",
                    f"a session named {name!r} already exists in this workspace "
                    "(archived sessions keep their name until deleted)",
                )
            holder = await self.store.session_holder(tmux_session=tmux_name, worktree_path=path)
            if holder is not None:
                # only the caller's own names: another workspace's session is never described
                whose = (
                    f" by session {holder.name!r}" if holder.workspace_id == workspace_id else ""
                )
                raise SessionError(
                    "name_taken",
                    f"tmux session {tmux_name!r} or worktree {path} is already in use{whose}; "
                    "choose another name, prefix or worktree root",
                )
            await self._check_capacity(workspace_id, fields["repo_path"], cap)
            if os.path.lexists(path):
                raise SessionError(
                    "name_taken",
                    f"{path} already exists; pick another name or "
                    "worktree root (a stale worktree: `git worktree prune`)",
                )
            if await self.access.tmux_has(tmux_name):
                raise SessionError(
                    "name_taken", f"a tmux session named {tmux_name!r} already exists"
                )
            return await self.store.session_create(workspace_id, status="creating", **fields)

    async def reserve_resume(self, row: SessionRow, *, cap: int) -> None:
        """Hold a slot under the cap for relaunching ``row``: it moves to ``resuming``."""
        async with self._reserve_lock:  # the slot is held, not just checked
            await self._check_capacity(row.workspace_id, row.repo_path, cap)
            if not await self.store.session_set_status_if(
                row.id, expected=row.status, status="resuming"
            ):
                raise SessionError("not_active", f"session {row.name!r} changed meanwhile")

    async def _check_capacity(self, workspace_id: str, repo_path: str, cap: int) -> None:
        live = await self.store.session_count_live(workspace_id, repo_path)
        if live >= cap:
            raise SessionError(
                "capacity_reached",
                f"{live} sessions of this repository are active and the cap is {cap}; "
                "archive or delete one first",
            )

    # -- bringing it up -----------------------------------------------------------------

    async def provision(self, row: SessionRow, executable: str) -> SessionRow:
        """worktree → tmux session → agent launch → active; a failing step undoes the earlier
        ones and drops the reservation."""
        repo, worktree = Path(row.repo_path), Path(row.worktree_path)
        undo: Undo = []
        self._creating.add(row.id)
        try:
            with git_errors():
                owns_branch = not await worktrees.branch_exists(repo, row.branch)
            if owns_branch:  # recorded first: boot recovery must know whose branch it is
                row = await self.store.session_patch(row.workspace_id, row.id, owns_branch=True)

            async def drop_worktree() -> None:
                # the path was free at reservation, so whatever is there now is ours, even
                # the locked half of an add that was cut short
                await worktrees.remove(repo, worktree, force=True, locked_too=True)
                if owns_branch:  # only after the worktree: git keeps checked-out branches
                    await worktrees.delete_branch(repo, row.branch)

            undo.append(drop_worktree)
            await self.add_worktree(row, base=row.base_branch)
            pane = await self._launch(row, executable, undo)
            return await self.store.session_patch(
                row.workspace_id, row.id, status="active", pane_id=pane
            )
        except BaseException:
            await self._undo(undo)
            with contextlib.suppress(Exception):
                await self.store.session_delete(row.workspace_id, row.id)
            raise
        finally:
            self._creating.discard(row.id)

    async def relaunch(self, row: SessionRow) -> str:
        """Start the agent again in the row's worktree (re-added from its kept branch if
        archive removed it); the new pane id. A failure undoes the re-added worktree."""
        executable = self.executable(row.command)
        worktree = Path(row.worktree_path)
        undo: Undo = []
        if not worktree.is_dir():
            if row.status == "active":
                raise SessionError(
                    "git_error", f"the worktree {worktree} is gone; delete the session"
                )
            # archived (or orphaned mid-resume): the branch was kept, the worktree comes back
            await self.add_worktree(row, base=None)
            undo.append(lambda: worktrees.remove(Path(row.repo_path), worktree, force=True))
        try:
            return await self._launch(row, executable, undo)
        except BaseException:
            await self._undo(undo)
            raise

    async def _undo(self, steps: Undo) -> None:
        for step in reversed(steps):
            try:
                await step()
            except Exception as exc:  # keep undoing: one stuck step must not strand the rest
                self.log.warning("session rollback step failed", error=str(exc))

    async def add_worktree(self, row: SessionRow, *, base: str | None) -> None:
        """Add the row's worktree (on its existing branch, or a new one from ``base``)."""
        repo = Path(row.repo_path)
        try:
            with git_errors():
                existed = await worktrees.branch_exists(repo, row.branch)
                if base is None and not existed:
                    base = await worktrees.default_base(repo)
                await worktrees.add(
                    repo, Path(row.worktree_path), row.branch, None if existed else base
                )
        except worktrees.BranchInUse as exc:  # git would say where: perhaps another workspace
            raise SessionError("name_taken", str(exc)) from None

    def executable(self, command: list[str]) -> str:
        """The agent's executable, found on the daemon's PATH, as an absolute path (the
        agent starts in its worktree, where a relative one would mean something else)."""
        found = shutil.which(command[0], path=self.parent_env.get("PATH"))
        if found is None:
            raise SessionError(
                "agent_not_found",
                f"agent command {command[0]!r} was not found on the daemon's PATH; "
                "install it or configure the full path",
            )
        return os.path.abspath(found)

    async def agent_env(self, row: SessionRow) -> dict[str, str]:
        """The agent's whole environment, from the same policy as a task's
        (docs/agents.md#environment): the allowlisted part of the daemon's environment, the
        deny family removed, the session's own variables, which nothing overrides, and its
        provider's stored API key."""
        workspace = await self.store.workspace_resolve(row.workspace_id)
        session_vars = {
            "HANGAR_SESSION": row.name,
            "HANGAR_SESSION_ID": row.id,
            "HANGAR_WORKSPACE": workspace.slug if workspace is not None else "",
        }
        try:
            return await self.environment.build(
                provider=session_agent(row), daemon_vars=session_vars
            )
        except AgentEnvError as exc:
            raise SessionError("launch_failed", str(exc)) from None

    async def _launch(self, row: SessionRow, executable: str, undo: Undo) -> str:
        """Start the agent in a new tmux session; the pane id once it survived the probe.
        The kill step is registered before new-session: a call that times out may still
        have made the session, and a reserved name is ours."""
        worktree = Path(row.worktree_path)
        argv = await self._launch_argv(row.command, executable, worktree, row.agent_session_id)
        env = await self.agent_env(row)
        undo.append(lambda: self.tmux.kill_session(row.tmux_session))
        try:
            pane = await self.tmux.new_session(row.tmux_session, worktree, argv, env=env)
        except DuplicateSession:
            undo.pop()  # somebody else's session took the name meanwhile: never kill it
            raise SessionError(
                "name_taken", f"a tmux session named {row.tmux_session!r} already exists"
            ) from None
        except TmuxError as exc:
            raise SessionError("tmux_error", f"could not start tmux session: {exc}") from None
        await self._probe_launch(row, pane)
        return pane

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
            "launch_failed", f"the agent exited at once ({ending(state)}){last_words(output)}"
        )

    async def wait_ready(self, row: SessionRow) -> None:
        """Until the agent shows its prompt and the screen holds still. A dead agent or a
        dialog still showing at READY_TIMEOUT_S means the prompt must not be typed: an
        Enter would pick the dialog's default (for the bypass warning: "No, exit")."""
        agent = session_agent(row)
        deadline = time.monotonic() + READY_TIMEOUT_S
        previous: str | None = None
        while True:
            state = await self.access.pane(row)
            content = await self.access.tmux_call(
                row,
                lambda: self.tmux.capture(
                    row.tmux_session, idleness.SAMPLE_LINES, pane=row.pane_id
                ),
            )
            if state.dead:
                raise SessionError(
                    "launch_failed",
                    f"the agent exited before it was ready ({ending(state)})" + last_words(content),
                )
            # a wrapped Claude is known by its banner, which may be gone by the next look
            agent = agent or idleness.screen_agent(content)
            if content == previous and idleness.is_ready(content, agent):
                return
            if time.monotonic() >= deadline:
                if idleness.is_waiting(content):
                    raise SessionError(
                        "launch_failed",
                        "the agent is showing a question or dialog; attach to answer it, "
                        "then send the prompt",
                    )
                self.log.warning(
                    "session not ready in time; sending the prompt anyway", session=row.name
                )
                return
            previous = content
            await asyncio.sleep(0.25)
