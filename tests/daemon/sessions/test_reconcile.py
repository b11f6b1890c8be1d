"""Rows made to agree with tmux: at boot, and before a list."""

from __future__ import annotations

from pathlib import Path

from hangar.proto import api
from tests.sessions.helpers import git

from .conftest import Harness


async def test_reconcile_orphans_a_session_whose_tmux_session_vanished(harness: Harness) -> None:
    lost = await harness.create("lost")
    await harness.create("keep")
    await harness.tmux.kill_session(lost.tmux_session)

    await harness.service.reconcile()

    gone = await harness.row("lost")
    assert gone is not None and gone.status == "orphaned"
    assert Path(gone.worktree_path).is_dir()  # row, worktree and branch kept for resume
    kept = await harness.row("keep")
    assert kept is not None and kept.status == "active"
    assert "session orphaned" in harness.log.events("warning")


async def test_a_prefixed_tmux_session_without_a_row_is_logged_never_killed(
    harness: Harness,
) -> None:
    await harness.tmux.new_session("harness-stray", harness.repo, ["cat"])

    await harness.service.reconcile()

    assert await harness.tmux.has_session("harness-stray")
    strays = [kw for lvl, event, kw in harness.log.lines if "has no row" in event]
    assert strays == [{"tmux": "harness-stray"}]


async def test_list_orphans_what_vanished_in_its_workspace(harness: Harness) -> None:
    ghost = await harness.create("ghost")
    await harness.create("alive")
    await harness.tmux.kill_session(ghost.tmux_session)

    listed = await harness.service.list(harness.workspace_id, api.SessionListParams())

    assert [v.session.name for v in listed.sessions] == ["alive"]  # orphaned rows need --all
    every = await harness.service.list(
        harness.workspace_id, api.SessionListParams(include_archived=True)
    )
    assert {v.session.name: v.session.status for v in every.sessions} == {
        "alive": "active",
        "ghost": "orphaned",
    }


async def test_boot_undoes_a_create_a_crash_interrupted(harness: Harness) -> None:
    worktree = harness.repo.parent / "worktrees" / "cut"
    git(harness.repo, "worktree", "add", "-q", "-b", "cut", str(worktree))
    row = await harness.store.session_create(
        harness.workspace_id,
        status="creating",
        name="cut",
        repo_path=str(harness.repo),
        worktree_path=str(worktree),
        branch="cut",
        base_branch="main",
        tmux_session="harness-cut",
        command=["cat"],
        agent_session_id=None,
        meta={},
        idle_threshold_ms=5000,
    )
    # as provisioning does: the branch is recorded as the session's before the worktree
    await harness.store.session_patch(harness.workspace_id, row.id, owns_branch=True)

    await harness.service.reconcile()

    assert await harness.row("cut") is None
    assert not worktree.exists()
    assert git(harness.repo, "branch", "--list", "cut") == ""
    assert "undid a session create interrupted by a crash" in harness.log.events("warning")
