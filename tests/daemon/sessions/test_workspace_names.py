"""Session names are the workspace's own: the tmux name, the worktree and the default branch
of a session carry its workspace, so two workspaces never trip over each other's sessions,
and a refusal never tells one workspace anything about another's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hangar.daemon.sessions.errors import SessionError
from hangar.proto import api
from hangar.proto.rows import SessionRow
from tests.sessions.helpers import git, wait_until

from .conftest import Harness


async def _create_in(harness: Harness, workspace_id: str, name: str, **params: Any) -> SessionRow:
    p = api.SessionCreateParams(
        name=name, repo_path=str(harness.repo), **{"command": ["cat"], **params}
    )
    return await harness.service.create(workspace_id, p)


async def test_two_workspaces_may_each_have_a_session_of_the_same_name(harness: Harness) -> None:
    other = await harness.store.workspace_create("other", "Other")

    mine = await harness.create("fix-login")
    theirs = await _create_in(harness, other.id, "fix-login")

    worktrees = harness.repo.parent / "worktrees"
    assert (mine.tmux_session, theirs.tmux_session) == (
        "harness-team_fix-login",
        "harness-other_fix-login",
    )
    assert Path(mine.worktree_path) == worktrees / "team_fix-login"
    assert Path(theirs.worktree_path) == worktrees / "other_fix-login"
    assert (mine.branch, theirs.branch) == ("team/fix-login", "other/fix-login")
    assert git(Path(theirs.worktree_path), "rev-parse", "--abbrev-ref", "HEAD") == (
        "other/fix-login"
    )
    for row in (mine, theirs):
        assert row.status == "active" and await harness.tmux.has_session(row.tmux_session)
    # each workspace reaches its own by the shared name
    await harness.service.archive(other.id, "fix-login", force=False)
    assert (await harness.service.get(harness.workspace_id, "fix-login")).status == "active"
    assert (await harness.service.get(other.id, "fix-login")).status == "archived"


async def test_the_default_workspace_keeps_the_plain_names(harness: Harness) -> None:
    """`tmux attach -t harness-<name>`, as the MCP tools' users and prompts know it."""
    default = await harness.store.workspace_default()

    row = await _create_in(harness, default.id, "feat-a")

    assert (row.tmux_session, row.branch) == ("harness-feat-a", "feat-a")
    assert Path(row.worktree_path) == harness.repo.parent / "worktrees" / "feat-a"


async def test_a_name_taken_in_another_workspace_is_never_revealed(harness: Harness) -> None:
    mine = await harness.create("fix")
    other = await harness.store.workspace_create("m", "M")

    # a prefix that spells the same tmux name: "harness-tea" + "m" + "_fix"
    with pytest.raises(SessionError) as same_tmux:
        await _create_in(harness, other.id, "fix", session_prefix="harness-tea")
    # the branch the first workspace's session has checked out
    with pytest.raises(SessionError) as same_branch:
        await _create_in(harness, other.id, "fix", branch=mine.branch)

    assert same_tmux.value.kind == same_branch.value.kind == "name_taken"
    assert "harness-team_fix" in same_tmux.value.message  # the caller's own name, and why
    assert f"branch {mine.branch!r}" in same_branch.value.message
    for refused in (same_tmux.value.message, same_branch.value.message):
        for secret in (mine.id, mine.worktree_path, "another workspace", "active"):
            assert secret not in refused, refused
    # nothing was made for the refused creates, and the first session is untouched
    assert await harness.store.session_list(other.id, include_archived=True) == []
    assert not (harness.repo.parent / "worktrees" / "m_fix").exists()
    assert (await harness.service.get(harness.workspace_id, "fix")).status == "active"


async def test_a_branch_checked_out_elsewhere_is_refused_before_git_says_where(
    harness: Harness,
) -> None:
    with pytest.raises(SessionError) as refused:
        await harness.create("on-main", branch="main")  # the repository's own checkout

    assert refused.value.kind == "name_taken"
    assert str(harness.repo) not in refused.value.message
    assert await harness.row("on-main") is None


async def test_sessions_made_before_namespacing_keep_their_tmux_names(harness: Harness) -> None:
    """A row an older daemon wrote (tmux `harness-<name>`, worktree `<root>/<name>`, in a
    workspace that is not the default) is found by its stored names, never recomputed ones."""
    worktree = harness.repo.parent / "worktrees" / "legacy"
    git(harness.repo, "worktree", "add", "-q", "-b", "legacy", str(worktree))
    pane = await harness.tmux.new_session("harness-legacy", worktree, ["cat"])
    row = await harness.store.session_create(
        harness.workspace_id,
        name="legacy",
        repo_path=str(harness.repo),
        worktree_path=str(worktree),
        branch="legacy",
        base_branch="main",
        tmux_session="harness-legacy",
        command=["cat"],
        agent_session_id=None,
        meta={},
        idle_threshold_ms=5000,
    )
    await harness.store.session_patch(harness.workspace_id, row.id, pane_id=pane)

    await harness.service.reconcile()
    listed = await harness.service.list(harness.workspace_id, api.SessionListParams())

    assert [(v.session.name, v.session.status) for v in listed.sessions] == [("legacy", "active")]
    await harness.service.send(harness.workspace_id, "legacy", "still-here", press_enter=True)

    async def screen() -> str:
        p = api.SessionReadParams(id="legacy")
        return (await harness.service.read(harness.workspace_id, p)).content

    await wait_until(screen, lambda text: text.count("still-here") == 2, timeout=20)
    archived = await harness.service.archive(harness.workspace_id, "legacy", force=False)
    assert archived.status == "archived" and not worktree.exists()
    assert not await harness.tmux.has_session("harness-legacy")
