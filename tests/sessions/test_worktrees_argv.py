"""The exact git argv of the session worktree operations, against a recording executor."""

from __future__ import annotations

from pathlib import Path

import pytest

from hangar.adapters.executor import CommandResult, CommandTimeout
from hangar.daemon.sessions import worktrees
from hangar.testing.executor import RecordingExecutor

OK = CommandResult(0, "", "")
NO = CommandResult(1, "", "")


def g(repo: Path, *args: str) -> list[str]:
    return ["git", "-C", str(repo), *args]


async def test_add_new_branch_from_base(tmp_path: Path) -> None:
    ex = RecordingExecutor()
    ex.script(g(tmp_path, "show-ref"), NO)
    wt = tmp_path / "wt"
    await worktrees.add(tmp_path, wt, "feat-a", None, executor=ex)
    await worktrees.add(tmp_path, tmp_path / "wt2", "feat-b", "origin/dev", executor=ex)
    assert ex.argvs == [
        g(tmp_path, "show-ref", "--verify", "--quiet", "refs/heads/feat-a"),
        g(tmp_path, "worktree", "add", "-b", "feat-a", str(wt), "HEAD"),
        g(tmp_path, "show-ref", "--verify", "--quiet", "refs/heads/feat-b"),
        g(tmp_path, "worktree", "add", "-b", "feat-b", str(tmp_path / "wt2"), "origin/dev"),
    ]
    assert ex.calls[1].timeout == worktrees.WORKTREE_TIMEOUT


async def test_add_existing_branch_checks_it_out(tmp_path: Path) -> None:
    ex = RecordingExecutor()
    await worktrees.add(tmp_path, tmp_path / "wt", "feat-a", "main", executor=ex)
    assert ex.argvs[1] == g(tmp_path, "worktree", "add", str(tmp_path / "wt"), "feat-a")


async def test_add_prunes_stale_metadata_and_retries_once(tmp_path: Path) -> None:
    ex = RecordingExecutor()
    add = g(tmp_path, "worktree", "add")
    ex.script(add, CommandResult(128, "", "fatal: stale"), OK)
    ex.script(g(tmp_path, "worktree", "prune"), CommandResult(0, "Removing worktrees/wt\n", ""))
    await worktrees.add(tmp_path, tmp_path / "wt", "feat-a", None, executor=ex)
    assert [a[3:5] for a in ex.argvs[1:]] == [
        ["worktree", "add"],
        ["worktree", "prune"],
        ["worktree", "add"],
    ]
    assert ex.argvs[2] == g(tmp_path, "worktree", "prune", "--verbose")


async def test_add_does_not_retry_when_nothing_was_pruned(tmp_path: Path) -> None:
    ex = RecordingExecutor()
    ex.script(g(tmp_path, "worktree", "add"), CommandResult(128, "", "fatal: invalid reference"))
    with pytest.raises(worktrees.WorktreeError, match="invalid reference"):
        await worktrees.add(tmp_path, tmp_path / "wt", "feat-a", "nope", executor=ex)
    assert [a[3:5] for a in ex.argvs[1:]] == [
        ["worktree", "add"],
        ["worktree", "prune"],
        ["worktree", "list"],  # is the branch out elsewhere? (no: git's own words stand)
    ]


async def test_an_existing_branch_out_in_another_worktree_is_refused_without_saying_where(
    tmp_path: Path,
) -> None:
    ex = RecordingExecutor()
    elsewhere = "/srv/worktrees/other_feat-a"
    ex.script(
        g(tmp_path, "worktree", "add"),
        CommandResult(128, "", f"fatal: 'feat-a' is already used by worktree at '{elsewhere}'"),
    )
    listing = f"worktree {tmp_path}\nHEAD 0a1b\nbranch refs/heads/main\n\n"
    listing += f"worktree {elsewhere}\nHEAD 0a1b\nbranch refs/heads/feat-a\n\n"
    ex.script(g(tmp_path, "worktree", "list"), CommandResult(0, listing, ""))
    with pytest.raises(worktrees.BranchInUse) as refused:
        await worktrees.add(tmp_path, tmp_path / "wt", "feat-a", None, executor=ex)
    assert "'feat-a' is checked out in another worktree" in str(refused.value)
    assert elsewhere not in str(refused.value)
    assert ex.argvs[-1] == g(tmp_path, "worktree", "list", "--porcelain")


async def test_add_refuses_an_existing_path(tmp_path: Path) -> None:
    ex = RecordingExecutor()
    (tmp_path / "wt").mkdir()
    with pytest.raises(worktrees.WorktreeError, match="already exists"):
        await worktrees.add(tmp_path, tmp_path / "wt", "feat-a", None, executor=ex)
    assert ex.calls == []


async def test_remove(tmp_path: Path) -> None:
    ex = RecordingExecutor()
    wt = tmp_path / "wt"
    wt.mkdir()
    await worktrees.remove(tmp_path, wt, force=False, executor=ex)
    await worktrees.remove(tmp_path, wt, force=True, executor=ex)
    await worktrees.remove(tmp_path, tmp_path / "gone", force=True, executor=ex)
    assert ex.argvs == [
        g(tmp_path, "worktree", "remove", str(wt)),
        g(tmp_path, "worktree", "remove", "--force", str(wt)),
        g(tmp_path, "worktree", "prune"),
    ]
    ex.script(g(tmp_path, "worktree", "remove"), CommandResult(128, "", "fatal: contains changes"))
    with pytest.raises(worktrees.WorktreeError, match="contains changes"):
        await worktrees.remove(tmp_path, wt, force=False, executor=ex)


async def test_delete_branch(tmp_path: Path) -> None:
    ex = RecordingExecutor()
    await worktrees.delete_branch(tmp_path, "feat-a", executor=ex)
    ex.script(g(tmp_path, "show-ref"), NO)
    await worktrees.delete_branch(tmp_path, "gone", executor=ex)
    assert ex.argvs == [
        g(tmp_path, "show-ref", "--verify", "--quiet", "refs/heads/feat-a"),
        g(tmp_path, "branch", "-D", "feat-a"),
        g(tmp_path, "show-ref", "--verify", "--quiet", "refs/heads/gone"),
    ]


async def test_is_dirty(tmp_path: Path) -> None:
    ex = RecordingExecutor()
    ex.script(g(tmp_path, "status"), CommandResult(0, "?? new.txt\n", ""), OK)
    assert await worktrees.is_dirty(tmp_path, executor=ex) is True
    assert await worktrees.is_dirty(tmp_path, executor=ex) is False
    assert ex.argvs[0] == g(tmp_path, "status", "--porcelain", "--untracked-files=normal")


async def test_unique_commits(tmp_path: Path) -> None:
    ex = RecordingExecutor()
    ex.script(g(tmp_path, "rev-list"), CommandResult(0, "2\n", ""))
    assert await worktrees.unique_commits(tmp_path, "feat-a", "main", executor=ex) == 2
    ex.script(g(tmp_path, "rev-parse"), NO)
    assert await worktrees.unique_commits(tmp_path, "feat-a", "gone", executor=ex) == 2
    assert await worktrees.unique_commits(tmp_path, "feat-a", None, executor=ex) == 2
    rev_list = g(tmp_path, "rev-list", "--count", "refs/heads/feat-a", "--not")
    assert ex.argvs == [
        g(tmp_path, "rev-parse", "--verify", "--quiet", "main^{commit}"),
        [*rev_list, "main", "--remotes", "--"],
        g(tmp_path, "rev-parse", "--verify", "--quiet", "gone^{commit}"),
        [*rev_list, "--remotes", "--"],
        [*rev_list, "--remotes", "--"],
    ]


async def test_default_base(tmp_path: Path) -> None:
    ex = RecordingExecutor()
    ex.script(g(tmp_path, "rev-parse", "--path-format=absolute"), CommandResult(0, "/r/.git\n", ""))
    ex.script(g(tmp_path, "--git-dir=/r/.git", "symbolic-ref"), CommandResult(0, "main\n", ""), NO)
    ex.script(g(tmp_path, "--git-dir=/r/.git", "rev-parse"), CommandResult(0, "abc123\n", ""))
    assert await worktrees.default_base(tmp_path, executor=ex) == "main"
    assert await worktrees.default_base(tmp_path, executor=ex) == "abc123"  # detached
    assert ex.argvs[:2] == [
        g(tmp_path, "rev-parse", "--path-format=absolute", "--git-common-dir"),
        g(tmp_path, "--git-dir=/r/.git", "symbolic-ref", "--quiet", "--short", "HEAD"),
    ]
    assert ex.argvs[-1] == g(tmp_path, "--git-dir=/r/.git", "rev-parse", "--verify", "HEAD")


async def test_missing_or_hung_git_is_a_worktree_error(tmp_path: Path) -> None:
    ex = RecordingExecutor()
    ex.script(["git"], FileNotFoundError(2, "No such file or directory", "git"))
    with pytest.raises(worktrees.WorktreeError, match="cannot run git"):
        await worktrees.is_dirty(tmp_path, executor=ex)
    ex.script(["git"], CommandTimeout(["git", "status"], 30))
    with pytest.raises(worktrees.WorktreeError, match="timed out"):
        await worktrees.is_dirty(tmp_path, executor=ex)
