"""Fixtures for session adapters: a private tmux server and throwaway git repositories."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hangar.adapters.executor import SubprocessExecutor
from hangar.daemon.sessions.tmux import Tmux

from .helpers import git


@pytest.fixture
async def tmux_server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Tmux]:
    """A Tmux on a private server: its own socket name under its own short TMUX_TMPDIR.

    Unix socket paths cap at 108 bytes, hence a short dir in /tmp, not pytest's tmp_path.
    Teardown kills this server's sessions, then this server, and nothing else."""
    tmpdir = tempfile.mkdtemp(prefix="hgt-", dir="/tmp")
    monkeypatch.setenv("TMUX_TMPDIR", tmpdir)
    monkeypatch.delenv("TMUX", raising=False)  # never fall back to an enclosing server
    socket = f"hgt-{uuid.uuid4().hex[:8]}"
    tmux = Tmux(SubprocessExecutor(), socket_name=socket)
    try:
        yield tmux
    finally:
        for name in await tmux.list_sessions():
            await tmux.kill_session(name)
        await SubprocessExecutor().run(["tmux", "-L", socket, "kill-server"])
        shutil.rmtree(tmpdir, ignore_errors=True)


@pytest.fixture
def repo(tmp_path: Path, git_env: None) -> Path:
    """A repository on ``main`` with one commit, cloned from a bare ``origin``."""
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    seed = tmp_path / "seed"
    subprocess.run(["git", "init", "-q", "-b", "main", str(seed)], check=True)
    (seed / "README").write_text("hello\n")
    git(seed, "add", "README")
    git(seed, "commit", "-q", "-m", "init")
    git(seed, "push", "-q", str(origin), "main")
    clone = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    return clone
