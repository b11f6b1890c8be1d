from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Hangar

#: End-to-end modules run on SQLite only. Their SQL is the store's, which tests/store runs on
#: both backends statement by statement; what these modules add is the CLI, the socket, tmux,
#: git and the daemon's wiring, none of which depends on the backend. The modules left out of
#: this set (claims, cancels across daemons, restarts and recovery, autopilot fires,
#: dependency wake-ups, the main CLI paths) still run on PostgreSQL too, where concurrency
#: and locking differ.
SQLITE_ONLY = frozenset(
    {
        "test_agent_tree.py",
        "test_beads_cli.py",
        "test_cli_startup.py",
        "test_issue_edit.py",
        "test_notify_cli.py",
        "test_session_messages.py",
        "test_sessions.py",
        "test_settings_cli.py",
        "test_skills_cli.py",
        "test_socket.py",
        "test_tokens.py",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    dropped = [
        item
        for item in items
        if item.path.parent == here
        and item.path.name in SQLITE_ONLY
        and getattr(getattr(item, "callspec", None), "params", {}).get("database_url") == "postgres"
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = set(dropped)
        items[:] = [item for item in items if item not in gone]


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
