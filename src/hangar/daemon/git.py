"""The git adapter: argv lists through asyncio, never a shell, never on the loop's thread."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path


class GitError(RuntimeError):
    pass


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: str
    stderr: str


async def run_git(*args: str, cwd: Path | None = None) -> GitResult:
    proc = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=str(cwd) if cwd else None,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return GitResult(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))


async def toplevel(path: Path) -> Path:
    """The repository root containing ``path``; GitError when it is not a git repository."""
    if not path.is_dir():
        raise GitError(f"repository path {path} does not exist or is not a directory")
    res = await run_git("-C", str(path), "rev-parse", "--show-toplevel")
    if res.returncode != 0:
        raise GitError(f"{path} is not a git repository")
    return Path(res.stdout.strip())


_repo_locks: dict[str, asyncio.Lock] = {}


def repo_lock(repo: Path) -> asyncio.Lock:
    """One lock per repository for worktree mutations (task runner and sessions alike):
    concurrent adds race on .git/worktrees bookkeeping."""
    return _repo_locks.setdefault(str(repo), asyncio.Lock())


async def add_worktree(repo: Path, dest: Path, branch: str) -> None:
    """Create ``dest`` as a worktree of ``repo`` on a new ``branch`` from HEAD."""
    async with repo_lock(repo):
        head = await run_git("-C", str(repo), "rev-parse", "--verify", "HEAD")
        if head.returncode != 0:
            raise GitError(f"{repo} has no commits yet; commit something before assigning work")
        res = await run_git("-C", str(repo), "worktree", "add", "-b", branch, str(dest), "HEAD")
        if res.returncode != 0:
            raise GitError(f"git worktree add failed: {res.stderr.strip() or res.stdout.strip()}")
