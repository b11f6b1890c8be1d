"""Session worktrees against real git: a clone of a bare "origin" on branch main."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from hangar.daemon.sessions import worktrees

from .helpers import git


def commit(path: Path, name: str) -> None:
    (path / name).write_text(name)
    git(path, "add", name)
    git(path, "commit", "-q", "-m", name)


async def test_add_new_branch_then_remove_keeps_the_branch(repo: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wts" / "feat-a"
    await worktrees.add(repo, wt, "feat-a", None)
    assert (wt / "README").read_text() == "hello\n"
    assert git(wt, "rev-parse", "--abbrev-ref", "HEAD") == "feat-a"
    assert await worktrees.branch_exists(repo, "feat-a")
    await worktrees.remove(repo, wt, force=False)
    assert not wt.exists()
    assert await worktrees.branch_exists(repo, "feat-a")
    assert "feat-a" not in git(repo, "worktree", "list")


async def test_add_from_a_base_and_reopen_an_existing_branch(repo: Path, tmp_path: Path) -> None:
    git(repo, "branch", "dev")
    commit(repo, "on-main")
    wt = tmp_path / "a"
    await worktrees.add(repo, wt, "feat-a", "dev")
    assert not (wt / "on-main").exists()
    commit(wt, "work")
    await worktrees.remove(repo, wt, force=False)
    await worktrees.add(repo, wt, "feat-a", "main")  # exists: checked out as it is
    assert (wt / "work").exists() and not (wt / "on-main").exists()


async def test_add_refuses_existing_path_and_branch_checked_out_elsewhere(
    repo: Path, tmp_path: Path
) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    with pytest.raises(worktrees.WorktreeError, match="already exists"):
        await worktrees.add(repo, taken, "feat-a", None)
    await worktrees.add(repo, tmp_path / "one", "feat-a", None)
    with pytest.raises(worktrees.BranchInUse, match="'feat-a' is checked out in another") as e:
        await worktrees.add(repo, tmp_path / "two", "feat-a", None)
    assert str(tmp_path / "one") not in str(e.value)  # git's refusal says where; ours never
    assert not (tmp_path / "two").exists()


async def test_add_recovers_from_a_worktree_deleted_by_hand(repo: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    await worktrees.add(repo, wt, "feat-a", None)
    shutil.rmtree(wt)  # stale .git/worktrees/wt remains, and it still "has" feat-a
    await worktrees.add(repo, wt, "feat-a", None)
    assert git(wt, "rev-parse", "--abbrev-ref", "HEAD") == "feat-a"


async def test_add_with_a_bad_base_or_no_commits(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(worktrees.WorktreeError, match="nope"):
        await worktrees.add(repo, tmp_path / "wt", "feat-a", "nope")
    assert not await worktrees.branch_exists(repo, "feat-a")
    empty = tmp_path / "empty"
    git(tmp_path, "init", "-q", "-b", "main", str(empty))
    with pytest.raises(worktrees.WorktreeError, match="no commits"):
        await worktrees.add(empty, tmp_path / "wt2", "feat-a", None)
    assert await worktrees.default_base(empty) == "main"  # unborn, but checked out


async def test_concurrent_adds_in_one_repo(repo: Path, tmp_path: Path) -> None:
    names = [f"feat-{i}" for i in range(6)]
    await asyncio.gather(*(worktrees.add(repo, tmp_path / n, n, None) for n in names))
    for n in names:
        assert git(tmp_path / n, "rev-parse", "--abbrev-ref", "HEAD") == n


async def test_dirty_remove_needs_force(repo: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    await worktrees.add(repo, wt, "feat-a", None)
    assert await worktrees.is_dirty(wt) is False
    (wt / "untracked.txt").write_text("x")
    assert await worktrees.is_dirty(wt) is True
    with pytest.raises(worktrees.WorktreeError):
        await worktrees.remove(repo, wt, force=False)
    assert (wt / "untracked.txt").exists()
    await worktrees.remove(repo, wt, force=True)
    assert not wt.exists()
    await worktrees.remove(repo, wt, force=False)  # already gone: prune only


async def test_delete_branch(repo: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    await worktrees.add(repo, wt, "feat-a", None)
    commit(wt, "unmerged")
    with pytest.raises(worktrees.WorktreeError):  # still checked out in wt
        await worktrees.delete_branch(repo, "feat-a")
    await worktrees.remove(repo, wt, force=False)
    await worktrees.delete_branch(repo, "feat-a")  # unmerged: -D deletes anyway
    assert not await worktrees.branch_exists(repo, "feat-a")
    await worktrees.delete_branch(repo, "feat-a")  # missing: fine


async def test_unique_commits_counts_what_only_the_branch_has(repo: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    await worktrees.add(repo, wt, "feat-a", None)
    (wt / "feat-a").mkdir()  # a directory named like the branch must not confuse rev-list
    assert await worktrees.unique_commits(repo, "feat-a", "main") == 0
    commit(wt, "one")
    commit(wt, "two")
    assert await worktrees.unique_commits(repo, "feat-a", "main") == 2
    assert await worktrees.unique_commits(repo, "feat-a", "no-such-base") == 2
    git(wt, "push", "-q", "origin", "feat-a")  # pushed: a remote-tracking ref has them
    assert await worktrees.unique_commits(repo, "feat-a", None) == 0
    commit(wt, "three")
    assert await worktrees.unique_commits(repo, "feat-a", None) == 1
    git(repo, "merge", "-q", "--ff-only", "feat-a")  # merged into the base branch
    assert await worktrees.unique_commits(repo, "feat-a", "main") == 0


async def test_default_base(repo: Path, tmp_path: Path) -> None:
    assert await worktrees.default_base(repo) == "main"
    wt = tmp_path / "wt"
    await worktrees.add(repo, wt, "feat-a", None)
    assert await worktrees.default_base(wt) == "main"  # the main worktree's, not wt's
    sha = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "--detach")
    assert await worktrees.default_base(repo) == sha
    with pytest.raises(worktrees.WorktreeError):
        await worktrees.default_base(tmp_path / "not-a-repo")
