"""Git worktrees for interactive sessions: the session's policy over ``hangar.adapters.git``.

What is session-specific lives here: never reuse an existing path, reopen a branch that
already exists, recover once from a worktree deleted by hand, tolerate what is already
gone, and count only commits no base or remote has as "would be lost". Every call takes an
optional :class:`Executor` so tests can assert the exact argv.
"""

from __future__ import annotations

import os
from pathlib import Path

from hangar.adapters import git
from hangar.adapters.executor import Executor
from hangar.adapters.git import WORKTREE_TIMEOUT, GitError

__all__ = [
    "WORKTREE_TIMEOUT",
    "BranchInUse",
    "WorktreeError",
    "add",
    "branch_exists",
    "check_branch_name",
    "default_base",
    "delete_branch",
    "is_dirty",
    "remove",
    "unique_commits",
]

#: A worktree or branch operation failed (kept as a name for the session service).
WorktreeError = GitError


class BranchInUse(Exception):
    """The branch is checked out in another worktree. Unlike git's own refusal, the message
    never says where: that worktree may be another workspace's session."""


branch_exists = git.branch_exists
check_branch_name = git.check_branch_name
default_base = git.default_base
is_dirty = git.is_dirty


async def add(
    repo: Path, path: Path, branch: str, base: str | None, *, executor: Executor | None = None
) -> None:
    """Create worktree ``path`` on ``branch``.

    A new branch starts at ``base`` (default HEAD); an existing branch is checked out as it
    is, which git refuses while another worktree has it. Metadata left by a worktree
    whose directory was deleted by hand is pruned and the add retried once."""
    async with git.repo_lock(repo):
        if os.path.lexists(path):
            raise WorktreeError(f"worktree path {path} already exists; remove it or pick a name")
        existing = await git.branch_exists(repo, branch, executor=executor)
        start = None if existing else base or "HEAD"
        try:
            try:
                await git.worktree_add(repo, path, branch, start, executor=executor)
            except GitError:
                if os.path.lexists(path) or not await _pruned(repo, executor):
                    raise
                await git.worktree_add(repo, path, branch, start, executor=executor)
        except GitError:
            if existing and await _checked_out(repo, branch, executor):
                raise BranchInUse(
                    f"branch {branch!r} is checked out in another worktree (git allows one "
                    "worktree per branch); name another branch"
                ) from None
            if base is None and not await git.has_commits(repo, executor=executor):
                raise WorktreeError(f"{repo} has no commits yet; commit something first") from None
            raise


async def _checked_out(repo: Path, branch: str, executor: Executor | None) -> bool:
    """Whether a worktree of ``repo`` has ``branch`` checked out (False when git cannot say:
    the caller then reports git's own error)."""
    try:
        res = await git.run(repo, "worktree", "list", "--porcelain", executor=executor)
    except GitError:
        return False
    return res.returncode == 0 and f"branch refs/heads/{branch}" in res.stdout.splitlines()


async def _pruned(repo: Path, executor: Executor | None) -> bool:
    try:
        return await git.worktree_prune(repo, verbose=True, executor=executor)
    except GitError:
        return False


async def remove(
    repo: Path,
    path: Path,
    *,
    force: bool,
    locked_too: bool = False,
    executor: Executor | None = None,
) -> None:
    """Remove worktree ``path``; refuses uncommitted changes unless ``force``.

    ``locked_too`` also removes a locked worktree: what an interrupted ``git worktree add``
    leaves behind. The branch is kept. A path that is already gone only has its metadata
    pruned."""
    async with git.repo_lock(repo):
        if not os.path.lexists(path):
            await git.worktree_prune(repo, executor=executor)
            return
        level = 2 if locked_too else 1 if force else 0
        await git.remove_worktree(repo, path, force=level, executor=executor)


async def delete_branch(repo: Path, branch: str, *, executor: Executor | None = None) -> None:
    """Delete ``branch`` even if unmerged; a missing branch is fine."""
    async with git.repo_lock(repo):
        if await git.branch_exists(repo, branch, executor=executor):
            await git.delete_branch(repo, branch, executor=executor)


async def unique_commits(
    repo: Path, branch: str, base: str | None, *, executor: Executor | None = None
) -> int:
    """Commits on ``branch`` that neither ``base`` nor any remote-tracking ref contains.

    Zero means deleting the branch loses no commits. A ``base`` that does not resolve is
    left out, so only pushed commits count as safe."""
    exclude = ["--remotes"]
    if base is not None and await git.resolves(repo, base, executor=executor):
        exclude = [base, "--remotes"]
    return await git.unique_commits(repo, branch, exclude, executor=executor)
