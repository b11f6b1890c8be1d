"""Configuration: defaults < file < HARNESS_* < HANGAR_*, and the refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hangar.mcp.config import ConfigError, McpConfig, load_config
from hangar.proto import api


def _file(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return path


def test_defaults_follow_the_seed(tmp_path: Path) -> None:
    cfg = load_config(None, env={}, cwd=str(tmp_path))
    assert cfg == McpConfig(repo_path=str(tmp_path))
    assert cfg.command == ["claude"]
    assert (cfg.idle_threshold_ms, cfg.session_prefix, cfg.max_workspaces) == (5000, "harness-", 10)
    assert cfg.worktree_root is None and cfg.workspace is None and cfg.notes == ()


def test_file_values_are_used(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        {
            "repoPath": "/srv/repo",
            "worktreeRoot": "wt",
            "claudeCmd": "claude --model 'opus 4'",
            "idleThresholdMs": 8000,
            "sessionPrefix": "hx-",
            "maxWorkspaces": 5,
            "workspace": "team",
        },
    )
    cfg = load_config(path, env={}, cwd="/home/a")
    assert cfg.repo_path == "/srv/repo"
    assert cfg.worktree_root == "/home/a/wt"  # relative to the working directory
    assert cfg.command == ["claude", "--model", "opus 4"]
    assert (cfg.idle_threshold_ms, cfg.session_prefix, cfg.max_workspaces) == (8000, "hx-", 5)
    assert cfg.workspace == "team"


def test_env_wins_over_file_and_hangar_over_harness(tmp_path: Path) -> None:
    path = _file(tmp_path, {"repoPath": "/from/file", "maxWorkspaces": 3, "idleThresholdMs": 10})
    env = {
        "HARNESS_REPO_PATH": "/from/harness",
        "HANGAR_REPO_PATH": "/from/hangar",
        "HARNESS_MAX_WORKSPACES": "7",
        "HARNESS_CLAUDE_CMD": "bash --noprofile",
        "HANGAR_WORKSPACE": "ops",
        "HANGAR_IDLE_THRESHOLD_MS": " ",  # blank counts as unset
    }
    cfg = load_config(path, env=env, cwd="/")
    assert cfg.repo_path == "/from/hangar"
    assert cfg.max_workspaces == 7
    assert cfg.idle_threshold_ms == 10
    assert cfg.command == ["bash", "--noprofile"]
    assert cfg.workspace == "ops"


def test_workspace_has_no_harness_twin() -> None:
    assert load_config(None, env={"HARNESS_WORKSPACE": "x"}, cwd="/").workspace is None


def test_create_params_carry_the_config() -> None:
    cfg = load_config(None, env={"HANGAR_WORKTREE_ROOT": "/wt"}, cwd="/r")
    assert cfg.create_params("feat-a", prompt="go") == api.SessionCreateParams(
        name="feat-a",
        prompt="go",
        repo_path="/r",
        worktree_root="/wt",
        command=["claude"],
        session_prefix="harness-",
        max_sessions=10,
        idle_threshold_ms=5000,
    )


def test_unknown_keys_and_store_path_are_noted(tmp_path: Path) -> None:
    path = _file(tmp_path, {"storePath": "/x.json", "colour": "blue"})
    notes = load_config(path, env={}, cwd="/").notes
    assert any("unknown config key 'colour'" in n for n in notes)
    assert any("storePath is ignored" in n for n in notes)
    assert any("storePath" in n for n in load_config(None, {"HARNESS_STORE_PATH": "/s"}).notes)


@pytest.mark.parametrize(
    ("data", "env", "needle"),
    [
        ({"maxWorkspaces": 0}, {}, "maxWorkspaces in"),
        ({"maxWorkspaces": 51}, {}, "between 1 and 50, got 51"),
        ({}, {"HARNESS_MAX_WORKSPACES": "100"}, "HARNESS_MAX_WORKSPACES must be between 1 and 50"),
        ({}, {"HANGAR_MAX_WORKSPACES": "ten"}, "HANGAR_MAX_WORKSPACES must be an integer"),
        ({"maxWorkspaces": 2.5}, {}, "must be an integer, got 2.5"),
        ({"maxWorkspaces": True}, {}, "must be an integer, got true"),
        ({"idleThresholdMs": 0}, {}, "idleThresholdMs in"),
        ({}, {"HARNESS_IDLE_THRESHOLD_MS": "-5"}, "must be positive, got -5"),
        ({"repoPath": 3}, {}, "repoPath in"),
        ({"claudeCmd": "  "}, {}, "claudeCmd in"),
        ({}, {"HANGAR_CLAUDE_CMD": "claude 'unterminated"}, "not a valid command line"),
    ],
)
def test_bad_values_are_refused(
    tmp_path: Path, data: dict[str, Any], env: dict[str, str], needle: str
) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        load_config(_file(tmp_path, data), env=env, cwd="/")
    message = str(info.value)
    assert needle in message and "\n" not in message


def test_unreadable_or_malformed_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.json", env={}, cwd="/")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(bad, env={}, cwd="/")
    with pytest.raises(ConfigError, match="must hold a JSON object"):
        load_config(_file(tmp_path, [1, 2]), env={}, cwd="/")
