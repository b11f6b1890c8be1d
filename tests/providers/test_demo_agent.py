"""``python3 -m hangar.demo_agent`` is a well-behaved Claude-format agent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hangar.daemon.providers import AgentConfig, MessageKind, Usage

from .helpers import run_config

K = MessageKind


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


def demo_config(tmp_path: Path) -> AgentConfig:
    return AgentConfig(
        provider="claude",
        command=[sys.executable, "-m", "hangar.demo_agent", "--scenario", "demo"],
        model="claude-sonnet-4-5",
        prompt="Add a greeting file\nPlease.",
        task_root=str(tmp_path / "task-root"),
    )


def test_demo_agent_commits_hello_in_a_git_repo(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    run = run_config(demo_config(tmp_path), repo)
    outcome = run.outcome
    assert outcome.succeeded, (outcome, run.stderr)
    assert outcome.exit_code == 0
    assert outcome.session_id is not None and len(outcome.session_id) == 36
    assert run.session_ids[0] == outcome.session_id
    assert outcome.usage == [
        Usage(model="claude-sonnet-4-5", input_tokens=1200, output_tokens=300, cost_usd=0.0042)
    ]
    assert outcome.result_text is not None and "hello.txt" in outcome.result_text
    assert (repo / "hello.txt").is_file()
    assert git(repo, "log", "-1", "--format=%s").strip() == "hangar: add hello.txt"
    kinds = [m.kind for m in run.messages]
    assert kinds[0] is K.THINKING
    assert run.messages[0].body.startswith("Reading the issue…")
    assert K.ERROR not in kinds
    calls = [m.body for m in run.messages if m.kind is K.TOOL_CALL]
    assert calls[0].startswith("Write: ") and calls[0].endswith("hello.txt")
    assert calls[1].startswith("Bash: git add hello.txt && git commit")
    assert kinds[-1] is K.AGENT


def test_demo_agent_outside_git_still_succeeds(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    config = demo_config(tmp_path)
    run = run_config(config, plain, env={**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert run.outcome.succeeded
    assert (plain / "hello.txt").is_file()
    assert [m.body for m in run.messages if m.kind is K.TOOL_CALL][1:] == []
