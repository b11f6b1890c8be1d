"""Create, archive, resume and delete through the service, in-process: a real store, tmux
and git, a clock that moves only when told."""

from __future__ import annotations

from pathlib import Path

import pytest

from hangar.adapters.executor import SubprocessExecutor
from hangar.daemon.sessions.errors import SessionError
from hangar.daemon.sessions.tmux import Tmux, TmuxError
from hangar.proto import api
from tests.sessions.helpers import git

from .conftest import Harness


class CutShortTmux(Tmux):
    """new-session makes the session, then reports a failure (as a call that timed out)."""

    async def new_session(self, name: str, cwd: Path, argv: list[str], **kw: object) -> str:
        await super().new_session(name, cwd, argv, **kw)  # type: ignore[arg-type]
        raise TmuxError(f"tmux new-session {name!r} timed out")


async def test_create_makes_an_active_session(harness: Harness) -> None:
    row = await harness.create("feat-a", meta={"ticket": "T-1"}, idle_threshold_ms=700)

    # the workspace ("team") is part of every name (tests/daemon/sessions/test_workspace_names.py)
    assert (row.status, row.branch, row.tmux_session) == (
        "active",
        "team/feat-a",
        "harness-team_feat-a",
    )
    assert row.pane_id is not None and row.pane_id.startswith("%")
    assert (row.meta, row.idle_threshold_ms, row.owns_branch) == ({"ticket": "T-1"}, 700, True)
    assert row.base_branch == "main" and row.agent_session_id is None  # `cat` is not Claude
    stored = await harness.row("feat-a")
    assert stored is not None and stored.status == "active" and stored.pane_id == row.pane_id
    worktree = Path(row.worktree_path)
    assert worktree == harness.repo.parent / "worktrees" / "team_feat-a"
    assert git(worktree, "rev-parse", "--abbrev-ref", "HEAD") == "team/feat-a"
    assert await harness.tmux.has_session("harness-team_feat-a")
    assert "session created" in harness.log.events("info")


async def test_a_launch_that_fails_undoes_the_worktree_branch_tmux_session_and_row(
    harness: Harness,
) -> None:
    cut_short = CutShortTmux(SubprocessExecutor(), socket_name=harness.tmux.socket_name)
    harness.with_service(tmux=cut_short)

    with pytest.raises(SessionError) as refused:
        await harness.create("boom")

    assert refused.value.kind == "tmux_error" and "timed out" in refused.value.message
    assert not (harness.repo.parent / "worktrees" / "team_boom").exists()
    assert git(harness.repo, "branch", "--list", "team/boom") == ""
    # the session new-session made is ours (the name was reserved): the undo killed it
    assert not await harness.tmux.has_session("harness-team_boom")
    assert await harness.store.session_list(harness.workspace_id, include_archived=True) == []

    harness.with_service()  # the name is free again
    assert (await harness.create("boom")).status == "active"


async def test_an_agent_that_exits_at_once_fails_the_create_with_its_last_words(
    harness: Harness,
) -> None:
    # the probe window is generous: the agent is gone well before it ends, however loaded
    harness.with_service(launch_probe_s=2.0)
    command = ["sh", "-c", "echo cannot-start; sleep 0.2; exit 3"]

    with pytest.raises(SessionError) as refused:
        await harness.create("boom", command=command)

    assert refused.value.kind == "launch_failed"
    assert "exited at once (status 3)" in refused.value.message
    assert "cannot-start" in refused.value.message
    assert not (harness.repo.parent / "worktrees" / "team_boom").exists()
    assert await harness.row("boom") is None
    assert not await harness.tmux.has_session("harness-team_boom")


async def test_the_cap_counts_active_sessions_of_the_repository(harness: Harness) -> None:
    await harness.create("one", max_sessions=1)

    with pytest.raises(SessionError) as refused:
        await harness.create("two", max_sessions=1)

    assert refused.value.kind == "capacity_reached" and "cap is 1" in refused.value.message
    assert await harness.row("two") is None
    assert not (harness.repo.parent / "worktrees" / "team_two").exists()


async def test_archive_keeps_the_branch_resume_brings_it_back_delete_removes_it(
    harness: Harness,
) -> None:
    row = await harness.create("work")

    archived = await harness.service.archive(harness.workspace_id, "work", force=False)
    assert archived.status == "archived" and archived.pane_id is None
    assert archived.archived_at == harness.clock.now_ms()
    assert not Path(row.worktree_path).exists()
    assert git(harness.repo, "branch", "--list", "team/work").strip() == "team/work"
    assert not await harness.tmux.has_session("harness-team_work")

    resumed = await harness.service.resume(harness.workspace_id, "work")
    assert resumed.status == "active" and resumed.archived_at is None
    assert Path(row.worktree_path).is_dir() and await harness.tmux.has_session("harness-team_work")

    with pytest.raises(SessionError) as unconfirmed:
        await harness.service.delete(harness.workspace_id, "work", confirm=False, force=False)
    assert unconfirmed.value.kind == "delete_not_confirmed"

    gone = await harness.service.delete(harness.workspace_id, "work", confirm=True, force=False)
    assert gone == api.SessionDeleteResult(deleted=True, id=row.id)
    assert await harness.row(row.id) is None
    assert git(harness.repo, "branch", "--list", "team/work") == ""
    assert not await harness.tmux.has_session("harness-team_work")
