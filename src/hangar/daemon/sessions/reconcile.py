"""Making the rows agree with tmux: at boot, and before a list.

A create a crash interrupted is undone; a relaunch a crash interrupted leaves the session
orphaned (its worktree and branch hold work); an active session whose tmux session is
gone becomes orphaned, row and branch kept, so ``resume`` can bring it back. A tmux
session with our prefix but no row is logged, never killed: it may be a person's."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from hangar.adapters import git
from hangar.daemon.sessions import worktrees
from hangar.daemon.sessions.access import Log, SessionAccess
from hangar.daemon.sessions.tmux import Tmux, TmuxError
from hangar.proto.rows import SessionRow

if TYPE_CHECKING:
    from hangar.store import Store


class Reconciler:
    def __init__(
        self, *, access: SessionAccess, store: Store, tmux: Tmux, log: Log, prefix: str
    ) -> None:
        self.access = access
        self.store = store
        self.tmux = tmux
        self.log = log
        self.prefix = prefix

    async def at_boot(self) -> None:
        """Undo interrupted creates, orphan interrupted resumes and vanished sessions, and
        log prefixed tmux sessions that have no row."""
        for row in await self.store.session_list_in_status("creating"):
            await self.undo_interrupted_create(row)
        for row in await self.store.session_list_in_status("resuming"):
            # its worktree and branch hold work: keep them, and let resume try again
            await self.store.session_set_status_if(row.id, expected="resuming", status="orphaned")
        try:
            live = set(await self.tmux.list_sessions())
        except TmuxError as exc:
            self.log.warning("session reconcile skipped: tmux failed", error=str(exc))
            return
        for row in await self.store.session_list_in_status("active"):
            if row.tmux_session not in live:
                await self.access.orphan(row, "tmux session missing at startup")
        known = await self.store.session_tmux_names()
        for name in sorted(live - known):
            if self.prefix and name.startswith(self.prefix):
                self.log.warning(
                    "tmux session with the session prefix has no row; leaving it alone",
                    tmux=name,
                )

    async def workspace(self, workspace_id: str) -> None:
        """Orphan the workspace's sessions whose tmux session is gone (tmux failing: skip)."""
        rows = await self.store.session_list(workspace_id)
        if not rows:
            return
        try:
            live = set(await self.tmux.list_sessions())
        except TmuxError:
            return
        for row in rows:
            if row.tmux_session not in live:
                await self.access.orphan(row, "tmux session missing")

    async def undo_interrupted_create(self, row: SessionRow) -> bool:
        """Remove what a create cut short left behind, and its row; False if it could not."""
        repo, worktree = Path(row.repo_path), Path(row.worktree_path)
        try:
            # the reserved name was free when the create began, so a session by it is ours
            await self.tmux.kill_session(row.tmux_session)
            if os.path.lexists(worktree):
                await worktrees.remove(repo, worktree, force=True, locked_too=True)
            if row.owns_branch:
                await worktrees.delete_branch(repo, row.branch)
            await self.store.session_delete(row.workspace_id, row.id)
        except (TmuxError, git.GitError) as exc:
            self.log.warning(
                "could not undo an interrupted session create; `hangar session delete` retries",
                session=row.name,
                error=str(exc),
            )
            return False
        self.log.warning("undid a session create interrupted by a crash", session=row.name)
        return True
