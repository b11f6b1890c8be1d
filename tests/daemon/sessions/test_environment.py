"""What a session's agent sees: the daemon's environment policy (the one tasks get), never
the environment of the daemon or of whoever started the tmux server; and paths and names
that tmux would expand reach it as they are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hangar.core.env_policy import EnvPolicy
from hangar.daemon.sessions.errors import SessionError
from hangar.daemon.sessions.launch import PANE_VARS
from hangar.proto import api
from tests.sessions.helpers import (
    format_payload,
    git,
    read_dump,
    server_environment,
    start_foreign_server,
    wait_until,
    write_dumper,
)

from .conftest import Harness

#: what a shell that auto-started the daemon may well have held
DAEMON_SECRETS = {
    "LD_PRELOAD": "libc.so.6",  # preloading libc again is harmless, and still a leak
    "BASH_ENV": "/dev/null",
    "GITHUB_TOKEN": "ghp_leak",
    "AWS_SECRET_ACCESS_KEY": "aws-leak",
    "PYTHONSTARTUP": "/tmp/evil.py",
}
SESSION_VARS = {"HANGAR_SESSION", "HANGAR_SESSION_ID", "HANGAR_WORKSPACE"}


def daemon_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "USER": "someone",
        "TERM": "xterm-of-the-daemon",
        "COLUMNS": "80",
        "CLAUDE_CODE_USE_BEDROCK": "1",
        "MY_SETTING": "x",
        "HANGAR_SESSION": "spoofed",
        **DAEMON_SECRETS,
    }


async def test_the_agent_gets_the_policy_not_the_daemons_environment(
    harness: Harness, tmp_path: Path
) -> None:
    agent = write_dumper(tmp_path / "bin" / "agent")
    harness.with_service(parent_env=daemon_env(tmp_path), env_policy=EnvPolicy())

    row = await harness.create("env-a", command=[str(agent)])

    env = (await read_dump(agent))["env"]
    assert not set(DAEMON_SECRETS) & set(env)
    allowed = {"PATH", "HOME", "LANG", "USER", "CLAUDE_CODE_USE_BEDROCK"}
    assert set(env) - set(PANE_VARS) == allowed | SESSION_VARS | {"PWD"}
    assert {k: env[k] for k in allowed} == {k: daemon_env(tmp_path)[k] for k in allowed}
    # the session's own variables win over the daemon's; the terminal is the pane's
    assert (env["HANGAR_SESSION"], env["HANGAR_SESSION_ID"]) == ("env-a", row.id)
    assert env["HANGAR_WORKSPACE"] == "team"
    assert env["TERM"] != "xterm-of-the-daemon" and "COLUMNS" not in env
    assert env["PWD"] == row.worktree_path


async def test_the_configured_allowlist_decides(harness: Harness, tmp_path: Path) -> None:
    agent = write_dumper(tmp_path / "bin" / "agent")
    policy = EnvPolicy.from_keys(["PATH", "LANG", "MY_*"])
    harness.with_service(parent_env=daemon_env(tmp_path), env_policy=policy)

    await harness.create("env-b", command=[str(agent)])

    env = (await read_dump(agent))["env"]
    assert set(env) - set(PANE_VARS) == {"PATH", "LANG", "MY_SETTING", "PWD"} | SESSION_VARS


async def test_a_resumed_agent_gets_the_same_environment(harness: Harness, tmp_path: Path) -> None:
    agent = write_dumper(tmp_path / "bin" / "agent")
    harness.with_service(parent_env=daemon_env(tmp_path))
    await harness.create("env-c", command=[str(agent)])
    first = (await read_dump(agent))["env"]
    Path(f"{agent}.json").unlink()
    await harness.service.archive(harness.workspace_id, "env-c", force=True)

    await harness.service.resume(harness.workspace_id, "env-c")

    again = (await read_dump(agent))["env"]
    assert {k: v for k, v in again.items() if k not in PANE_VARS} == {
        k: v for k, v in first.items() if k not in PANE_VARS
    }


async def test_a_tmux_server_started_from_a_leaky_shell_leaks_nothing(
    harness: Harness, tmp_path: Path
) -> None:
    """With no socket of its own the daemon uses the user's server, whose environment is
    whatever shell started it: the agent still gets exactly the policy's environment."""
    await start_foreign_server(str(harness.tmux.socket_name), {**os.environ, **DAEMON_SECRETS})
    agent = write_dumper(tmp_path / "bin" / "agent")
    harness.with_service(parent_env=daemon_env(tmp_path))

    await harness.create("env-d", command=[str(agent)])

    env = (await read_dump(agent))["env"]
    assert not set(DAEMON_SECRETS) & set(env)
    assert "HOME" in env and "GITHUB_TOKEN" not in env


async def test_the_server_the_daemon_starts_holds_none_of_its_secrets(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in DAEMON_SECRETS.items():  # the daemon process's own environment
        monkeypatch.setenv(key, value)

    await harness.create("env-e")

    server = await server_environment(str(harness.tmux.socket_name))
    assert "PATH" in server and not set(server) & set(DAEMON_SECRETS)


# -- paths and names tmux would expand -------------------------------------------------------


def expanded(tmp_path: Path) -> list[str]:
    """The markers the commands in the odd paths below would have made."""
    return [m for m in ("expanded-repo", "expanded-root") if (tmp_path / m).exists()]


@pytest.fixture
def odd_repo(tmp_path: Path, repo: Path) -> Path:
    """The harness's repository, moved to a path holding tmux formats."""
    moved = tmp_path / f"r {format_payload(tmp_path / 'expanded-repo')}" / "repo"
    moved.parent.mkdir(parents=True)
    repo.rename(moved)
    return moved


async def test_a_repository_and_worktree_root_with_formats_work_as_they_are(
    harness: Harness, tmp_path: Path, odd_repo: Path
) -> None:
    harness.repo = odd_repo
    root = tmp_path / f"w {format_payload(tmp_path / 'expanded-root')}"
    agent = write_dumper(tmp_path / "bin" / "agent")

    row = await harness.create("odd", worktree_root=str(root), command=[str(agent)])

    assert row.worktree_path == str(root / "team_odd")
    dump = await read_dump(agent)
    assert (dump["cwd"], dump["env"]["PWD"]) == (row.worktree_path, row.worktree_path)
    assert git(Path(row.worktree_path), "rev-parse", "--abbrev-ref", "HEAD") == "team/odd"
    assert not expanded(tmp_path)  # no command in a path ran
    # and it is a working session: archive and resume go through the same paths
    await harness.service.archive(harness.workspace_id, "odd", force=True)
    resumed = await harness.service.resume(harness.workspace_id, "odd")
    assert resumed.status == "active"
    assert not expanded(tmp_path)


async def test_a_default_worktree_root_next_to_a_repository_with_formats(
    harness: Harness, tmp_path: Path, odd_repo: Path
) -> None:
    harness.repo = odd_repo
    row = await harness.create("odd-default", command=["sh", "-c", "pwd; exec cat"])
    assert Path(row.worktree_path).parent == odd_repo.parent / "worktrees"
    params = api.SessionReadParams(id=row.id, lines=50)
    await wait_until(
        lambda: harness.service.read(harness.workspace_id, params),
        lambda read: row.worktree_path in read.content.splitlines(),
    )
    assert not expanded(tmp_path)


async def test_names_with_formats_are_refused(harness: Harness, tmp_path: Path) -> None:
    marker = tmp_path / "expanded"
    with pytest.raises(SessionError) as refused:
        await harness.create(f"x{format_payload(marker)}")
    assert refused.value.kind == "invalid_name"
    assert await harness.tmux.list_sessions() == []
    assert not marker.exists()
