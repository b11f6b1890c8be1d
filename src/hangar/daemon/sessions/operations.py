"""The verbs that change what sessions exist: create, list, archive, delete, resume.

Each verb checks what the request cannot say on the wire (names free, cap, dirty or
unpushed work) and composes the parts: provisioning brings a session up, the stopper
brings its agent down, the reconciler makes rows agree with tmux. Archive, delete and
resume of one session take its operation lock, so they never overlap."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from hangar.adapters import git
from hangar.core.clock import Clock
from hangar.core.names import validate_session_name
from hangar.daemon.sessions import idle as idleness
from hangar.daemon.sessions import worktrees
from hangar.daemon.sessions.access import (
    Log,
    SessionAccess,
    git_errors,
    refuse_in_flight,
    repo_toplevel,
)
from hangar.daemon.sessions.errors import SessionError
from hangar.daemon.sessions.provisioning import Provisioner
from hangar.daemon.sessions.reconcile import Reconciler
from hangar.daemon.sessions.screens import DEFAULT_IDLE_MS, ScreenWatcher
from hangar.daemon.sessions.stopping import AgentStopper
from hangar.daemon.sessions.terminal import SessionTerminal
from hangar.daemon.sessions.tmux import SessionGone, TmuxError
from hangar.proto import api
from hangar.proto.rows import SessionRow, WorkspaceRow

if TYPE_CHECKING:
    from hangar.store import Store

DEFAULT_COMMAND = ("claude",)
DEFAULT_MAX_SESSIONS = 10
#: The workspace whose sessions keep the plain names of the tmux workspace server Hangar
#: replaces (tmux ``harness-<name>``, worktree ``<root>/<name>``, branch ``<name>``), so the
#: attach commands its users and prompts know keep working: the default workspace's slug.
PLAIN_NAMES_SLUG = "default"
#: What a workspace tag may hold to go into tmux names, paths and branches: a slug's alphabet
_TAG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")


def session_names(workspace: WorkspaceRow, name: str) -> tuple[str, str, str]:
    """(tmux name without its prefix, worktree directory name, default branch) of session
    ``name`` in ``workspace`` (docs/sessions.md#create).

    Outside the default workspace each carries the workspace's slug, joined by a character
    neither a slug nor a session name holds (``_`` in tmux names and directories, ``/`` in
    branches), so sessions of two workspaces never share a tmux session, worktree or branch.
    Computed once, at create: the row keeps them, so a later change of scheme never loses
    a session made under an older one."""
    if workspace.slug == PLAIN_NAMES_SLUG:
        return name, name, name
    # slugs are checked where workspaces are made; a stray one falls back to the id's tail
    tag = workspace.slug if _TAG.fullmatch(workspace.slug) else workspace.id[-8:].lower()
    return f"{tag}_{name}", f"{tag}_{name}", f"{tag}/{name}"


class SessionOperations:
    def __init__(
        self,
        *,
        access: SessionAccess,
        provisioner: Provisioner,
        reconciler: Reconciler,
        screens: ScreenWatcher,
        stopper: AgentStopper,
        terminal: SessionTerminal,
        store: Store,
        clock: Clock,
        log: Log,
        prefix: str,
    ) -> None:
        self.access = access
        self.provisioner = provisioner
        self.reconciler = reconciler
        self.screens = screens
        self.stopper = stopper
        self.terminal = terminal
        self.store = store
        self.clock = clock
        self.log = log
        self.prefix = prefix

    async def create(self, workspace_id: str, p: api.SessionCreateParams) -> SessionRow:
        try:
            name = validate_session_name(p.name)
        except ValueError as exc:
            raise SessionError("invalid_name", str(exc)) from None
        command = list(p.command or DEFAULT_COMMAND)
        # said, else named by the command; None: a wrapper, whose screen will tell
        agent = p.agent or idleness.agent_from_argv(command)
        executable = self.provisioner.executable(command)
        workspace = await self.store.workspace_resolve(workspace_id)
        if workspace is None:  # the RPC resolved it a moment ago: deleted meanwhile
            raise SessionError("not_found", "the workspace is gone")
        tmux_name, dir_name, default_branch = session_names(workspace, name)
        repo = await repo_toplevel(p.repo_path)
        root = Path(p.worktree_root).expanduser() if p.worktree_root else repo.parent / "worktrees"
        worktree = (root if root.is_absolute() else repo / root) / dir_name
        with git_errors():
            # stored: delete's "is this work anywhere else?" check compares against it
            base = p.base_branch or await worktrees.default_base(repo)
            branch = p.branch or default_branch
            refused = await worktrees.check_branch_name(repo, branch)
        if refused:
            what = "branch" if p.branch else "session name, or name a branch"
            raise SessionError("invalid_params", f"{refused}; choose another {what}")

        prefix = self.prefix if p.session_prefix is None else p.session_prefix
        row = await self.provisioner.reserve(
            workspace_id,
            cap=DEFAULT_MAX_SESSIONS if p.max_sessions is None else p.max_sessions,
            name=name,
            repo_path=str(repo),
            worktree_path=str(worktree),
            branch=branch,
            base_branch=base,
            tmux_session=prefix + tmux_name,
            command=command,
            agent=agent,
            agent_session_id=str(uuid.uuid4()) if agent == "claude" else None,
            meta=dict(p.meta or {}),
            idle_threshold_ms=DEFAULT_IDLE_MS
            if p.idle_threshold_ms is None
            else p.idle_threshold_ms,
        )
        row = await self.provisioner.provision(row, executable)
        self.log.info(
            "session created", session=name, tmux=row.tmux_session, worktree=str(worktree)
        )
        if p.prompt:
            try:
                await self.provisioner.wait_ready(row)
                await self.terminal.send(workspace_id, row.id, p.prompt, press_enter=True)
            except SessionError as exc:
                raise SessionError(
                    exc.kind,
                    f"session {name!r} was created, but its prompt was not sent: " + exc.message,
                ) from None
        return row

    async def list(self, workspace_id: str, p: api.SessionListParams) -> api.SessionListResult:
        repo = None if p.repo_path is None else str(await repo_toplevel(p.repo_path))
        await self.reconciler.workspace(workspace_id)
        rows = await self.store.session_list(
            workspace_id, include_archived=p.include_archived, repo_path=repo
        )
        if p.wait_for_idle == "none":
            return api.SessionListResult(sessions=[api.SessionView(session=r) for r in rows])
        return await self.screens.wait_listed(rows, p)

    async def archive(self, workspace_id: str, ref: str, *, force: bool) -> SessionRow:
        row = await self.access.get(workspace_id, ref)
        async with self.access.op_lock(row.id):
            row = await self.access.get(workspace_id, row.id)
            if row.status == "archived":
                return row
            refuse_in_flight(row)
            worktree = Path(row.worktree_path)
            await _refuse_dirty(row, worktree, force=force, verb="archive")
            await self.stopper.stop(row)
            # the agent may have written while it exited: look again before removing
            try:
                await _refuse_dirty(row, worktree, force=force, verb="archive")
                await worktrees.remove(Path(row.repo_path), worktree, force=force)
            except SessionError as exc:
                await self.access.orphan(row, "stopped by archive, worktree kept")
                raise SessionError(
                    exc.kind,
                    exc.message + "; the agent was stopped and the session is now orphaned "
                    "(resume it, or archive again)",
                ) from None
            except git.GitError as exc:
                await self.access.orphan(row, "stopped by archive, worktree kept")
                raise SessionError("git_error", f"{exc}; the session is now orphaned") from None
            self._forget(row.id)
            archived = await self.store.session_patch(
                workspace_id,
                row.id,
                status="archived",
                archived_at=self.clock.now_ms(),
                pane_id=None,
            )
        self.log.info("session archived", session=row.name, branch=row.branch)
        return archived

    async def delete(
        self, workspace_id: str, ref: str, *, confirm: bool, force: bool
    ) -> api.SessionDeleteResult:
        row = await self.access.get(workspace_id, ref)
        if not confirm:
            raise SessionError(
                "delete_not_confirmed",
                f"deleting session {row.name!r} removes its worktree"
                + (f" and branch {row.branch!r}" if row.owns_branch else "")
                + " for good; pass confirm=true",
            )
        async with self.access.op_lock(row.id):
            row = await self.access.get(workspace_id, row.id)
            if row.status == "creating" and not self.provisioner.is_creating(row.id):
                # a create a crash cut short and boot recovery could not undo: finish it now
                if not await self.reconciler.undo_interrupted_create(row):
                    raise SessionError(
                        "git_error", f"could not clean up the interrupted create of {row.name!r}"
                    )
                return api.SessionDeleteResult(deleted=True, id=row.id)
            refuse_in_flight(row)
            repo, worktree = Path(row.repo_path), Path(row.worktree_path)
            has_worktree = row.status != "archived" and worktree.is_dir()
            if has_worktree:
                await _refuse_dirty(row, worktree, force=force, verb="delete")
            if row.owns_branch and not force:
                await _refuse_unpushed(row)
            if row.status == "active":
                await self.stopper.kill_own(row)
            with git_errors():
                if has_worktree:
                    await worktrees.remove(repo, worktree, force=True)
                if row.owns_branch:  # a branch that existed before the session stays
                    await worktrees.delete_branch(repo, row.branch)
            await self.store.session_delete(workspace_id, row.id)
            self._forget(row.id)
        self.log.info(
            "session deleted", session=row.name, branch=row.branch, branch_kept=not row.owns_branch
        )
        return api.SessionDeleteResult(deleted=True, id=row.id)

    async def resume(
        self, workspace_id: str, ref: str, *, max_sessions: int | None = None
    ) -> SessionRow:
        """Relaunch an orphaned, archived or exited session in its worktree, keeping the
        agent's own conversation (Claude: ``--resume <session id>``)."""
        cap = DEFAULT_MAX_SESSIONS if max_sessions is None else max_sessions
        row = await self.access.get(workspace_id, ref)
        async with self.access.op_lock(row.id):
            row = await self.access.get(workspace_id, row.id)
            refuse_in_flight(row)
            if row.status == "active":
                try:
                    state = await self.access.tmux.pane_state(row.tmux_session, pane=row.pane_id)
                    if not state.dead:
                        return row  # already running: nothing to resume
                    await self.access.tmux.kill_session(row.tmux_session)
                except SessionGone:
                    pass
                except TmuxError as exc:
                    raise SessionError("tmux_error", str(exc)) from None
                return await self._relaunch(row)
            if await self.access.tmux_has(row.tmux_session):
                raise SessionError(
                    "name_taken",
                    f"a tmux session named {row.tmux_session!r} already exists, but the "
                    "agent's pane is not in it (closed by hand, with a split left behind, or "
                    f"someone else's session): `tmux kill-session -t ={row.tmux_session}` or "
                    "rename it, then resume again",
                )
            await self.provisioner.reserve_resume(row, cap=cap)
            try:
                return await self._relaunch(row)
            except BaseException:
                await self.store.session_set_status_if(
                    row.id, expected="resuming", status=row.status
                )
                raise

    async def _relaunch(self, row: SessionRow) -> SessionRow:
        pane = await self.provisioner.relaunch(row)
        self._forget(row.id)
        resumed = await self.store.session_patch(
            row.workspace_id, row.id, status="active", archived_at=None, pane_id=pane
        )
        self.log.info("session resumed", session=row.name)
        return resumed

    def _forget(self, session_id: str) -> None:
        self.screens.forget(session_id)
        self.terminal.forget(session_id)


async def _refuse_dirty(row: SessionRow, worktree: Path, *, force: bool, verb: str) -> None:
    if force or not worktree.is_dir():
        return
    with git_errors():
        dirty = await worktrees.is_dirty(worktree)
    if dirty:
        raise SessionError(
            "dirty_worktree",
            f"session {row.name!r} has uncommitted changes in {worktree}; commit or stash "
            f"them, or pass force=true to {verb} anyway (they will be lost)",
        )


async def _refuse_unpushed(row: SessionRow) -> None:
    with git_errors():
        ahead = await worktrees.unique_commits(Path(row.repo_path), row.branch, row.base_branch)
    if ahead:
        raise SessionError(
            "unpushed_commits",
            f"branch {row.branch!r} has {ahead} commit(s) found on no remote and not in "
            f"{row.base_branch or 'the base branch'}; push or merge them, or pass "
            "force=true to delete them",
        )
