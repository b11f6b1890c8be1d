"""Git worktrees for interactive sessions: add, remove, and the checks before deleting work.

Every call goes through an :class:`Executor` (real git by default) so tests can assert the
exact argv. Mutations share ``hangar.daemon.git``'s per-repository locks with the task
runner, because concurrent ``worktree add`` calls race on ``.git/worktrees`` bookkeeping.
Decisions never parse git's (localised) messages: they use exit codes and plumbing output.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from hangar.daemon.git import GitError, repo_lock
from hangar.daemon.sessions.executor import (
    CommandResult,
    CommandTimeout,
    Executor,
    SubprocessExecutor,
)

_FULL_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
#: Checkouts of large repositories take a while; the executor's 10 s default is for tmux.
WORKTREE_TIMEOUT = 300.0


class WorktreeError(GitError):
    """A worktree or branch operation failed; the message carries git's stderr."""


async def _git(
    executor: Executor | None, cwd: Path, *args: str, timeout: float = 30.0
) -> CommandResult:
    argv = ["git", "-C", str(cwd), *args]
    try:
        return await (executor or SubprocessExecutor()).run(argv, timeout=timeout)
    except CommandTimeout as exc:
        raise WorktreeError(str(exc)) from exc
    except OSError as exc:
        raise WorktreeError(f"cannot run git: {exc}") from exc


def _fail(what: str, res: CommandResult) -> WorktreeError:
    detail = res.stderr.strip() or res.stdout.strip() or f"exit status {res.returncode}"
    return WorktreeError(f"{what} failed: {detail}")


async def add(
    repo: Path, path: Path, branch: str, base: str | None, *, executor: Executor | None = None
) -> None:
    """Create worktree ``path`` on ``branch``.

    A new branch starts at ``base`` (default HEAD); an existing branch is checked out as it
    is, which git refuses while another worktree has it. Metadata left by a worktree
    whose directory was deleted by hand is pruned and the add retried once."""
    async with repo_lock(repo):
        if os.path.lexists(path):
            raise WorktreeError(f"worktree path {path} already exists; remove it or pick a name")
        if await branch_exists(repo, branch, executor=executor):
            args = ["worktree", "add", str(path), branch]
        else:
            args = ["worktree", "add", "-b", branch, str(path), base or "HEAD"]
        res = await _git(executor, repo, *args, timeout=WORKTREE_TIMEOUT)
        if res.returncode != 0 and not os.path.lexists(path):
            pruned = await _git(executor, repo, "worktree", "prune", "--verbose")
            if pruned.returncode == 0 and (pruned.stdout.strip() or pruned.stderr.strip()):
                res = await _git(executor, repo, *args, timeout=WORKTREE_TIMEOUT)
        if res.returncode != 0:
            if base is None and not await _has_commits(repo, executor):
                raise WorktreeError(f"{repo} has no commits yet; commit something first")
            raise _fail(f"git worktree add {path} ({branch})", res)


async def remove(
    repo: Path,
    path: Path,
    *,
    force: bool,
    locked_too: bool = False,
    executor: Executor | None = None,
) -> None:
    """Remove worktree ``path``; refuses uncommitted changes unless ``force``.

    ``locked_too`` also removes a locked worktree (``-f -f``): what an interrupted
    ``git worktree add`` leaves behind. The branch is kept. A path that is already gone
    only has its metadata pruned."""
    async with repo_lock(repo):
        if not os.path.lexists(path):
            res = await _git(executor, repo, "worktree", "prune")
            if res.returncode != 0:
                raise _fail("git worktree prune", res)
            return
        forces = ["--force", "--force"] if locked_too else ["--force"] if force else []
        args = ["worktree", "remove", *forces, str(path)]
        res = await _git(executor, repo, *args, timeout=WORKTREE_TIMEOUT)
        if res.returncode != 0:
            raise _fail(f"git worktree remove {path}", res)


async def delete_branch(repo: Path, branch: str, *, executor: Executor | None = None) -> None:
    """Delete ``branch`` even if unmerged; a missing branch is fine."""
    async with repo_lock(repo):
        if not await branch_exists(repo, branch, executor=executor):
            return
        res = await _git(executor, repo, "branch", "-D", branch)
        if res.returncode != 0:
            raise _fail(f"git branch -D {branch}", res)


async def check_branch_name(
    repo: Path, branch: str, *, executor: Executor | None = None
) -> str | None:
    """Why ``branch`` cannot name a new branch, or None when it can."""
    if _FULL_OBJECT_ID.fullmatch(branch):  # git ignores such a ref where it expects a commit
        return f"branch name {branch!r} is a full commit id (40 or 64 hex characters)"
    res = await _git(executor, repo, "check-ref-format", "--branch", branch)
    if res.returncode != 0:
        return f"{branch!r} is not a valid git branch name"
    return None


async def branch_exists(repo: Path, branch: str, *, executor: Executor | None = None) -> bool:
    res = await _git(executor, repo, "show-ref", "--verify", "--quiet", f"refs/heads/{branch}")
    return res.returncode == 0


async def is_dirty(path: Path, *, executor: Executor | None = None) -> bool:
    """Uncommitted changes, untracked files included (whatever the user's config says)."""
    res = await _git(executor, path, "status", "--porcelain", "--untracked-files=normal")
    if res.returncode != 0:
        raise _fail(f"git status in {path}", res)
    return bool(res.stdout.strip())


async def unique_commits(
    repo: Path, branch: str, base: str | None, *, executor: Executor | None = None
) -> int:
    """Commits on ``branch`` that neither ``base`` nor any remote-tracking ref contains.

    Zero means deleting the branch loses no commits. A ``base`` that does not resolve is
    left out, so only pushed commits count as safe."""
    nots = ["--remotes"]
    if base is not None and await _resolves(repo, base, executor):
        nots = [base, "--remotes"]
    # the trailing "--" keeps a file named like a ref from making the argument ambiguous
    res = await _git(
        executor, repo, "rev-list", "--count", f"refs/heads/{branch}", "--not", *nots, "--"
    )
    if res.returncode != 0:
        raise _fail(f"git rev-list {branch}", res)
    return int(res.stdout.strip())


async def default_base(repo: Path, *, executor: Executor | None = None) -> str:
    """The branch checked out in the repository's main worktree, or its HEAD sha if detached."""
    common = await _git(executor, repo, "rev-parse", "--path-format=absolute", "--git-common-dir")
    if common.returncode != 0:
        raise _fail(f"git rev-parse in {repo}", common)
    # the common dir's HEAD is the main worktree's, even when ``repo`` is a linked worktree
    git_dir = common.stdout.strip()
    head = await _git(
        executor, repo, f"--git-dir={git_dir}", "symbolic-ref", "--quiet", "--short", "HEAD"
    )
    if head.returncode == 0 and head.stdout.strip():
        return head.stdout.strip()
    sha = await _git(executor, repo, f"--git-dir={git_dir}", "rev-parse", "--verify", "HEAD")
    if sha.returncode != 0:
        raise WorktreeError(f"{repo} has no commits yet; commit something first")
    return sha.stdout.strip()


async def _resolves(repo: Path, rev: str, executor: Executor | None) -> bool:
    res = await _git(executor, repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    return res.returncode == 0


async def _has_commits(repo: Path, executor: Executor | None) -> bool:
    return await _resolves(repo, "HEAD", executor)
