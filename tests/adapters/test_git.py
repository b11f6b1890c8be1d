"""The git adapter: real git in temporary repositories, and its exact argv."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hangar.adapters import git
from hangar.adapters.executor import CommandResult, CommandTimeout
from hangar.testing.executor import RecordingExecutor

OK = CommandResult(0, "", "")
NO = CommandResult(1, "", "")


def sh_git(cwd: Path, *args: str) -> str:
    res = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True)
    assert res.returncode == 0, f"git {' '.join(args)}: {res.stderr}"
    return res.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, git_env: None) -> Path:
    """A repository on ``main`` with one commit."""
    path = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    (path / "README").write_text("hello\n")
    sh_git(path, "add", "README")
    sh_git(path, "commit", "-q", "-m", "init")
    return path


def g(repo: Path, *args: str) -> list[str]:
    return ["git", "-C", str(repo), *args]


async def test_toplevel(repo: Path, tmp_path: Path) -> None:
    (repo / "sub").mkdir()
    assert await git.toplevel(repo / "sub") == repo.resolve()
    with pytest.raises(git.GitError, match="not a git repository"):
        await git.toplevel(tmp_path)
    with pytest.raises(git.GitError, match="does not exist"):
        await git.toplevel(tmp_path / "missing")


async def test_worktree_add_and_remove_in_a_real_repo(repo: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    await git.add_worktree(repo, wt, "hangar/task/abc")
    assert (wt / "README").read_text() == "hello\n"
    assert sh_git(wt, "rev-parse", "--abbrev-ref", "HEAD") == "hangar/task/abc"
    assert await git.branch_exists(repo, "hangar/task/abc")
    assert await git.is_dirty(wt) is False
    (wt / "new.txt").write_text("x")
    assert await git.is_dirty(wt) is True
    with pytest.raises(git.GitError, match="worktree remove"):
        await git.remove_worktree(repo, wt)  # uncommitted changes: refused
    await git.remove_worktree(repo, wt, force=1)
    assert not wt.exists()
    assert str(wt) not in sh_git(repo, "worktree", "list")
    assert await git.unique_commits(repo, "hangar/task/abc", ["main"]) == 0
    await git.delete_branch(repo, "hangar/task/abc")
    assert not await git.branch_exists(repo, "hangar/task/abc")


@pytest.fixture
def empty(tmp_path: Path, git_env: None) -> Path:
    """A repository with no commits yet."""
    path = tmp_path / "empty"
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    return path


async def test_add_worktree_needs_a_commit(empty: Path, tmp_path: Path) -> None:
    with pytest.raises(git.GitError, match="no commits"):
        await git.add_worktree(empty, tmp_path / "wt", "b")
    assert not (tmp_path / "wt").exists()
    assert await git.default_base(empty) == "main"  # unborn, but checked out


async def test_a_taken_branch_is_a_git_error_in_gits_words(repo: Path, tmp_path: Path) -> None:
    await git.add_worktree(repo, tmp_path / "one", "feat")
    with pytest.raises(git.GitError, match=r"git worktree add .*\(feat\) failed: .*feat"):
        await git.add_worktree(repo, tmp_path / "two", "feat")


async def test_add_worktree_argv() -> None:
    ex = RecordingExecutor()
    repo, dest = Path("/r"), Path("/t/workdir")
    await git.add_worktree(repo, dest, "hangar/task/abc", executor=ex)
    assert ex.argvs == [
        g(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"),
        g(repo, "worktree", "add", "-b", "hangar/task/abc", str(dest), "HEAD"),
    ]
    assert ex.calls[1].timeout == git.WORKTREE_TIMEOUT
    ex.script(g(repo, "rev-parse"), NO)
    with pytest.raises(git.GitError, match="no commits"):
        await git.add_worktree(repo, dest, "b", executor=ex)
    assert len(ex.calls) == 3  # nothing added


async def test_worktree_and_branch_argv() -> None:
    ex = RecordingExecutor()
    repo, wt = Path("/r"), Path("/r-wt")
    await git.worktree_add(repo, wt, "feat", None, executor=ex)
    await git.remove_worktree(repo, wt, executor=ex)
    await git.remove_worktree(repo, wt, force=1, executor=ex)
    await git.remove_worktree(repo, wt, force=2, executor=ex)
    assert await git.worktree_prune(repo, executor=ex) is False
    ex.script(g(repo, "worktree", "prune"), CommandResult(0, "Removing worktrees/x\n", ""))
    assert await git.worktree_prune(repo, verbose=True, executor=ex) is True
    await git.delete_branch(repo, "feat", executor=ex)
    ex.script(g(repo, "rev-list"), CommandResult(0, "3\n", ""))
    assert await git.unique_commits(repo, "feat", ["main", "--remotes"], executor=ex) == 3
    assert ex.argvs == [
        g(repo, "worktree", "add", str(wt), "feat"),
        g(repo, "worktree", "remove", str(wt)),
        g(repo, "worktree", "remove", "--force", str(wt)),
        g(repo, "worktree", "remove", "--force", "--force", str(wt)),
        g(repo, "worktree", "prune"),
        g(repo, "worktree", "prune", "--verbose"),
        g(repo, "branch", "-D", "feat"),
        g(repo, "rev-list", "--count", "refs/heads/feat", "--not", "main", "--remotes", "--"),
    ]


async def test_branch_name_checks() -> None:
    ex = RecordingExecutor()
    sha = "a" * 40
    assert "full commit id" in (await git.check_branch_name(Path("/r"), sha, executor=ex) or "")
    assert ex.calls == []  # decided without git
    assert await git.check_branch_name(Path("/r"), "feat; rm -rf ~", executor=ex) is None
    ex.script(g(Path("/r"), "check-ref-format"), NO)
    assert "not a valid" in (await git.check_branch_name(Path("/r"), "a..b", executor=ex) or "")
    assert ex.argvs == [
        g(Path("/r"), "check-ref-format", "--branch", "feat; rm -rf ~"),  # one argument
        g(Path("/r"), "check-ref-format", "--branch", "a..b"),
    ]


async def test_missing_or_hung_git_is_a_git_error() -> None:
    ex = RecordingExecutor()
    ex.script(["git"], FileNotFoundError(2, "No such file or directory", "git"))
    with pytest.raises(git.GitError, match="cannot run git"):
        await git.toplevel(Path("/"), executor=ex)
    ex.script(["git"], CommandTimeout(["git", "status"], 30))
    with pytest.raises(git.GitError, match="timed out"):
        await git.is_dirty(Path("/"), executor=ex)


def test_one_lock_per_repository() -> None:
    assert git.repo_lock(Path("/r")) is git.repo_lock(Path("/r"))
    assert git.repo_lock(Path("/r")) is not git.repo_lock(Path("/other"))
