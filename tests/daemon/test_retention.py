"""What a finished task leaves in the user's repository: nothing, unless it holds work."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from hangar.daemon.tasks.retention import task_branch
from hangar.testing import InProcessDaemon
from tests.daemon.helpers import make_agent, task_row

GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
}


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "README").write_text("hello\n")
    _git(repo, "add", "README")
    _git(repo, "commit", "-q", "-m", "init")
    return repo


async def _run(hangar: InProcessDaemon, agent: str, title: str) -> dict[str, Any]:
    made = await hangar.call("hangar/issue_create", {"title": title, "assign": agent})
    await hangar.dispatch()
    return await task_row(hangar, made["task"]["id"])


async def test_a_run_that_changed_nothing_leaves_nothing_behind(
    hangar: InProcessDaemon, tmp_path: Path
) -> None:
    repo = _repo(tmp_path)
    await make_agent(hangar, "idle", ["true"], repo_path=str(repo))
    task = await _run(hangar, "idle", "t")
    assert task["status"] == "done"
    assert not Path(task["work_dir"]).exists()
    assert _git(repo, "branch", "--list", task_branch(task["id"])) == ""


async def test_work_is_kept_and_clean_removes_it_only_when_forced(
    hangar: InProcessDaemon, tmp_path: Path
) -> None:
    repo = _repo(tmp_path)
    commit = [
        "sh",
        "-c",
        "echo x > made && git add made && git -c user.name=t -c user.email=t@t commit -qm made",
    ]
    await make_agent(hangar, "committer", commit, repo_path=str(repo))
    await make_agent(hangar, "scribbler", ["sh", "-c", "echo y > loose"], repo_path=str(repo))
    committed = await _run(hangar, "committer", "commits")
    loose = await _run(hangar, "scribbler", "leaves a file")
    assert committed["status"] == loose["status"] == "done", (committed, loose)
    # a commit the base lacks: the (clean) worktree goes, the branch stays
    assert not Path(committed["work_dir"]).exists()
    assert _git(repo, "branch", "--list", task_branch(committed["id"]))
    # uncommitted changes: worktree and branch stay
    assert (Path(loose["work_dir"]) / "loose").exists()

    listed = await hangar.call("hangar/task_clean", {"dry_run": True})
    assert listed["dry_run"] is True
    assert [i["task_id"] for i in listed["items"]] == [loose["id"]]
    assert listed["items"][0]["worktree"].startswith("kept: uncommitted")
    again = await hangar.call("hangar/task_clean", {})
    assert (Path(loose["work_dir"]) / "loose").exists()  # nothing lost without force
    assert again["items"][0]["worktree"].startswith("kept")

    forced = await hangar.call("hangar/task_clean", {"force": True})
    assert [(i["worktree"], i["branch"]) for i in forced["items"]] == [("removed", "deleted")]
    assert not Path(loose["work_dir"]).exists()
    assert _git(repo, "branch", "--list", task_branch(loose["id"])) == ""
    assert (await hangar.call("hangar/task_clean", {}))["items"] == []
    # the committed branch is not the cleaner's: its worktree is gone already
    assert _git(repo, "branch", "--list", task_branch(committed["id"]))
