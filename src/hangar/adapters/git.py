"""The git adapter: argv lists through an :class:`Executor`, never a shell, never blocking
the event loop.

Decisions never parse git's (localised) messages: they use exit codes and plumbing output;
git's own words only travel in :class:`GitError` messages. Worktree and branch mutations
take the per-repository lock from :func:`repo_lock`.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from hangar.adapters.executor import CommandResult, CommandTimeout, Executor, SubprocessExecutor

__all__ = [
    "GIT_TIMEOUT",
    "WORKTREE_TIMEOUT",
    "GitError",
    "add_worktree",
    "branch_exists",
    "check_branch_name",
    "default_base",
    "delete_branch",
    "failed",
    "has_commits",
    "is_dirty",
    "main_worktree",
    "remove_worktree",
    "repo_lock",
    "resolves",
    "run",
    "toplevel",
    "unique_commits",
    "worktree_add",
    "worktree_prune",
]

GIT_TIMEOUT = 30.0
#: Checkouts of large repositories take a while.
WORKTREE_TIMEOUT = 300.0

_FULL_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class GitError(RuntimeError):
    """A git command failed, timed out or could not run; the message carries git's stderr."""


async def run(
    cwd: Path, *args: str, timeout: float = GIT_TIMEOUT, executor: Executor | None = None
) -> CommandResult:
    """``git -C cwd args...``; whatever its exit status. GitError when git cannot run or
    runs past ``timeout``."""
    argv = ["git", "-C", str(cwd), *args]
    try:
        return await (executor or SubprocessExecutor()).run(argv, timeout=timeout)
    except CommandTimeout as exc:
        raise GitError(str(exc)) from exc
    except OSError as exc:
        raise GitError(f"cannot run git: {exc}") from exc


def failed(what: str, res: CommandResult) -> GitError:
    """The error for a git command that exited non-zero, in git's own words."""
    detail = res.stderr.strip() or res.stdout.strip() or f"exit status {res.returncode}"
    return GitError(f"{what} failed: {detail}")


async def _check(
    what: str,
    cwd: Path,
    *args: str,
    timeout: float = GIT_TIMEOUT,
    executor: Executor | None = None,
) -> CommandResult:
    res = await run(cwd, *args, timeout=timeout, executor=executor)
    if res.returncode != 0:
        raise failed(what, res)
    return res


_repo_locks: dict[str, asyncio.Lock] = {}


def repo_lock(repo: Path) -> asyncio.Lock:
    """One lock per repository for worktree and branch mutations, shared by the task runner
    and sessions: concurrent ``worktree add`` calls race on ``.git/worktrees`` bookkeeping."""
    return _repo_locks.setdefault(str(repo), asyncio.Lock())


async def toplevel(path: Path, *, executor: Executor | None = None) -> Path:
    """The root of the repository containing ``path``; GitError when it is not in one."""
    if not path.is_dir():
        raise GitError(f"repository path {path} does not exist or is not a directory")
    res = await run(path, "rev-parse", "--show-toplevel", executor=executor)
    if res.returncode != 0:
        raise GitError(f"{path} is not a git repository")
    return Path(res.stdout.strip())


async def resolves(repo: Path, rev: str, *, executor: Executor | None = None) -> bool:
    """Does ``rev`` name a commit in ``repo``?"""
    res = await run(
        repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", executor=executor
    )
    return res.returncode == 0


async def has_commits(repo: Path, *, executor: Executor | None = None) -> bool:
    return await resolves(repo, "HEAD", executor=executor)


async def branch_exists(repo: Path, branch: str, *, executor: Executor | None = None) -> bool:
    res = await run(
        repo, "show-ref", "--verify", "--quiet", f"refs/heads/{branch}", executor=executor
    )
    return res.returncode == 0


async def check_branch_name(
    repo: Path, branch: str, *, executor: Executor | None = None
) -> str | None:
    """Why ``branch`` cannot name a new branch, or None when it can."""
    if _FULL_OBJECT_ID.fullmatch(branch):  # git ignores such a ref where it expects a commit
        return f"branch name {branch!r} is a full commit id (40 or 64 hex characters)"
    res = await run(repo, "check-ref-format", "--branch", branch, executor=executor)
    if res.returncode != 0:
        return f"{branch!r} is not a valid git branch name"
    return None


async def worktree_add(
    repo: Path, path: Path, branch: str, start: str | None, *, executor: Executor | None = None
) -> None:
    """``git worktree add``: a new ``branch`` from ``start``, or, when ``start`` is None, the
    existing ``branch`` as it is (git refuses while another worktree has it out).
    The caller holds :func:`repo_lock`."""
    if start is None:
        args = ["worktree", "add", str(path), branch]
    else:
        args = ["worktree", "add", "-b", branch, str(path), start]
    what = f"git worktree add {path} ({branch})"
    await _check(what, repo, *args, timeout=WORKTREE_TIMEOUT, executor=executor)


async def worktree_prune(
    repo: Path, *, verbose: bool = False, executor: Executor | None = None
) -> bool:
    """Drop the metadata of worktrees whose directory is gone. With ``verbose``, True when
    git reports it pruned any. The caller holds :func:`repo_lock`."""
    args = ["worktree", "prune", *(["--verbose"] if verbose else [])]
    res = await _check("git worktree prune", repo, *args, executor=executor)
    return bool(res.stdout.strip() or res.stderr.strip())


async def remove_worktree(
    repo: Path, path: Path, *, force: int = 0, executor: Executor | None = None
) -> None:
    """``git worktree remove``; ``force`` 1 drops uncommitted changes, 2 also removes a
    locked worktree. The caller holds :func:`repo_lock`."""
    args = ["worktree", "remove", *(["--force"] * min(force, 2)), str(path)]
    await _check(
        f"git worktree remove {path}", repo, *args, timeout=WORKTREE_TIMEOUT, executor=executor
    )


async def delete_branch(repo: Path, branch: str, *, executor: Executor | None = None) -> None:
    """``git branch -D``: deletes even an unmerged branch. The caller holds :func:`repo_lock`."""
    await _check(f"git branch -D {branch}", repo, "branch", "-D", branch, executor=executor)


async def add_worktree(
    repo: Path, dest: Path, branch: str, *, executor: Executor | None = None
) -> None:
    """Create ``dest`` as a worktree of ``repo`` on a new ``branch`` from HEAD (the task
    runner's provisioning)."""
    async with repo_lock(repo):
        if not await has_commits(repo, executor=executor):
            raise GitError(f"{repo} has no commits yet; commit something before assigning work")
        await worktree_add(repo, dest, branch, "HEAD", executor=executor)


async def is_dirty(path: Path, *, executor: Executor | None = None) -> bool:
    """Uncommitted changes, untracked files included (whatever the user's config says)."""
    res = await _check(
        f"git status in {path}",
        path,
        "status",
        "--porcelain",
        "--untracked-files=normal",
        executor=executor,
    )
    return bool(res.stdout.strip())


async def unique_commits(
    repo: Path, branch: str, exclude: list[str], *, executor: Executor | None = None
) -> int:
    """How many commits of ``branch`` none of the revisions in ``exclude`` contains
    (``--remotes`` and similar rev-list options are allowed there)."""
    # the trailing "--" keeps a file named like a ref from making the argument ambiguous
    args = ["rev-list", "--count", f"refs/heads/{branch}", "--not", *exclude, "--"]
    res = await _check(f"git rev-list {branch}", repo, *args, executor=executor)
    return int(res.stdout.strip())


async def main_worktree(path: Path, *, executor: Executor | None = None) -> Path:
    """The repository's main worktree (where its ``.git`` lives), from any of its worktrees."""
    res = await _check(
        f"git worktree list in {path}", path, "worktree", "list", "--porcelain", executor=executor
    )
    first = res.stdout.split("\n", 1)[0]
    if not first.startswith("worktree "):
        raise GitError(f"git worktree list in {path}: unexpected output {first!r}")
    return Path(first.removeprefix("worktree "))


async def default_base(repo: Path, *, executor: Executor | None = None) -> str:
    """The branch checked out in the repository's main worktree, or its HEAD sha if detached
    (even when ``repo`` is a linked worktree)."""
    common = await _check(
        f"git rev-parse in {repo}",
        repo,
        "rev-parse",
        "--path-format=absolute",
        "--git-common-dir",
        executor=executor,
    )
    git_dir = f"--git-dir={common.stdout.strip()}"  # the common dir's HEAD is the main one's
    head = await run(repo, git_dir, "symbolic-ref", "--quiet", "--short", "HEAD", executor=executor)
    if head.returncode == 0 and head.stdout.strip():
        return head.stdout.strip()
    sha = await run(repo, git_dir, "rev-parse", "--verify", "HEAD", executor=executor)
    if sha.returncode != 0:
        raise GitError(f"{repo} has no commits yet; commit something first")
    return sha.stdout.strip()
