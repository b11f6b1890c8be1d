"""What is left of a task in the user's repository once it has ended: its worktree and its
``hangar/task/<short-id>`` branch. Nothing that holds work goes without ``force``: a
worktree with uncommitted changes is kept, and so is a branch with commits its repository's
base branch does not have (docs/lifecycle.md#retention)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hangar.adapters import git
from hangar.core.ids import short_id

__all__ = ["Tidy", "task_branch", "tidy"]


def task_branch(task_id: str) -> str:
    """The branch a task's worktree is made on."""
    return f"hangar/task/{short_id(task_id)}"


@dataclass(frozen=True)
class Tidy:
    """What was (or, in a dry run, would be) done, with the reason for anything kept."""

    worktree: str  # removed | kept: … | gone
    branch: str  # deleted | kept: … | none

    @property
    def kept_anything(self) -> bool:
        return self.worktree.startswith("kept") or self.branch.startswith("kept")


async def tidy(workdir: Path, branch: str, *, force: bool = False, dry_run: bool = False) -> Tidy:
    """Remove a task's worktree and branch where that loses nothing (or ``force``)."""
    if not (workdir / ".git").exists():
        return Tidy(worktree="gone", branch="none")
    repo = await git.main_worktree(workdir)
    dirty = await git.is_dirty(workdir)
    base = await git.default_base(repo)
    ahead = 0
    if await git.branch_exists(repo, branch):
        ahead = await git.unique_commits(repo, branch, [base])
    keep_tree = dirty and not force
    worktree = "kept: uncommitted changes (--force removes them)" if keep_tree else "removed"
    if not await git.branch_exists(repo, branch):
        branch_note = "none"
    elif keep_tree:
        branch_note = "kept: its worktree is kept"
    elif ahead and not force:
        branch_note = f"kept: {ahead} commit{'s' if ahead != 1 else ''} not in {base}"
    else:
        branch_note = "deleted"
    if dry_run:
        return Tidy(worktree=worktree, branch=branch_note)
    async with git.repo_lock(repo):
        if not keep_tree:
            await git.remove_worktree(repo, workdir, force=2 if force else 0)
        if branch_note == "deleted":
            await git.delete_branch(repo, branch)
    return Tidy(worktree=worktree, branch=branch_note)
