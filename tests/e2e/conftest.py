from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Hangar


@pytest.fixture
def hangar(hangar_home: Path, database_url: str, tmp_path: Path) -> Iterator[Hangar]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HANGAR_", "AINB_"))}
    env["AINB_HANGAR_HOME"] = str(hangar_home)
    if not database_url.startswith("sqlite"):
        env["HANGAR_DATABASE_URL"] = database_url
    env["HANGAR_KILL_GRACE"] = "1s"
    # Claude's config is written under the test's own HOME, never a real CLAUDE_CONFIG_DIR
    env.pop("CLAUDE_CONFIG_DIR", None)
    # no user git config (signing, hooks, templates …); every commit here passes -c user.*
    env["GIT_CONFIG_GLOBAL"] = "/dev/null"
    # the daemon lists tmux sessions at boot: never on the user's (or CI's) own server
    tmux_dir = tempfile.mkdtemp(prefix="tx-", dir="/tmp")
    env["TMUX_TMPDIR"] = tmux_dir
    env.pop("TMUX", None)
    h = Hangar(home=hangar_home, env=env, tmp=tmp_path)
    try:
        yield h
    finally:
        h.stop()
        shutil.rmtree(tmux_dir, ignore_errors=True)
