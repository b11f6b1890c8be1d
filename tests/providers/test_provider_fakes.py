"""Real processes: run each fake CLI with the argv its provider builds, parse its stdout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hangar.core.failures import FailureReason
from hangar.daemon.providers import AgentConfig, MessageKind, Usage, get_provider

from .helpers import FIXTURES, fake_command, run_config, run_fake

K = MessageKind
DASH_PROMPT = "-rf the old cache\nthen rebuild"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(
        path,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "i",
    )
    return path


def test_fixture_scripts_are_executable() -> None:
    for name in ("fake_claude.py", "fake_codex.py", "fake_gemini.py"):
        script = FIXTURES / name
        assert os.access(script, os.X_OK), name
        assert script.read_text().startswith("#!/usr/bin/env python3\n")


# ---------------------------------------------------------------- claude


def test_claude_happy(tmp_path: Path) -> None:
    run = run_fake("claude", "happy", tmp_path, prompt=DASH_PROMPT, model="claude-sonnet-4-5")
    assert run.argv[-2:] == ["--", DASH_PROMPT]
    assert run.session_ids[0] == "3f6c1b2e-8a41-4d7e-b0c2-5e9a7d1f4c20"  # pinned on line 1
    kinds = [m.kind for m in run.messages]
    assert kinds == [K.THINKING, K.TOOL_CALL, K.TOOL_RESULT, K.AGENT]
    assert run.messages[1].body == "Bash: echo hi"
    assert run.messages[3].body == "You asked: -rf the old cache"
    outcome = run.outcome
    assert outcome.succeeded, outcome
    assert outcome.result_text == "Done: -rf the old cache"
    assert outcome.usage == [
        Usage(
            model="claude-sonnet-4-5",
            input_tokens=120,
            output_tokens=45,
            cache_read_tokens=1000,
            cache_creation_tokens=200,
            cost_usd=0.0123,
        )
    ]
    assert outcome.pr_url is None


def test_claude_pr(tmp_path: Path) -> None:
    run = run_fake("claude", "pr", tmp_path)
    assert run.outcome.succeeded
    assert run.outcome.pr_url == "https://github.com/acme/web/pull/88"
    assert run.messages[0].body == "Bash: gh pr create --fill"


def test_claude_is_error(tmp_path: Path) -> None:
    run = run_fake("claude", "is_error", tmp_path)
    assert run.outcome.exit_code == 1
    assert run.outcome.failure_reason is FailureReason.AGENT_ERROR
    assert run.outcome.error is not None and run.outcome.error.startswith("API Error: 400")
    assert run.messages[-1].kind is K.ERROR


def test_claude_crash(tmp_path: Path) -> None:
    run = run_fake("claude", "crash", tmp_path)
    assert run.outcome.succeeded is False
    assert run.outcome.failure_reason is FailureReason.AGENT_ERROR
    assert run.outcome.error is not None and "boom: segfault" in run.outcome.error
    assert run.outcome.session_id is not None
    assert [m.kind for m in run.messages] == [K.AGENT]


def test_claude_tempfail(tmp_path: Path) -> None:
    run = run_fake("claude", "tempfail", tmp_path)
    assert run.outcome.exit_code == 75
    assert run.outcome.failure_reason is FailureReason.RUNTIME_OFFLINE


def test_claude_env_reports_environment(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "HANGAR_TASK_ID": "t-1"}
    run = run_fake("claude", "env", tmp_path, env=env)
    bodies = [m.body for m in run.messages]
    assert f"ENV HOME={tmp_path}" in bodies
    assert "ENV HANGAR_TASK_ID=t-1" in bodies
    assert "ENV SECRET_TOKEN=<unset>" in bodies
    assert "ENV LD_PRELOAD=<unset>" in bodies
    assert f"CWD {tmp_path}" in bodies
    assert run.outcome.succeeded


def test_claude_work_commits_in_a_git_worktree(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    run = run_fake("claude", "work", repo)
    assert run.outcome.succeeded, run.outcome
    assert (repo / "hello.txt").read_text() == "hello\n"
    assert git(repo, "log", "-1", "--format=%s").strip() == "hangar: add hello.txt"
    assert git(repo, "status", "--porcelain").strip() == ""
    assert K.ERROR not in [m.kind for m in run.messages]


def test_claude_work_outside_git(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path)}
    run = run_fake("claude", "work", plain, env=env)
    assert run.outcome.succeeded
    assert (plain / "hello.txt").exists()
    assert run.outcome.result_text is not None and "not a git worktree" in run.outcome.result_text


def test_claude_hang_child_shares_the_process_group(tmp_path: Path) -> None:
    spec = get_provider("claude").launch(
        AgentConfig(provider="claude", command=fake_command("claude", "hang"), prompt="x")
    )
    proc = subprocess.Popen(
        spec.argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        start_new_session=True,
        text=True,
    )
    try:
        assert proc.stdout is not None
        parser = get_provider("claude").parser()
        child_pid = None
        for _ in range(10):
            for message in parser.feed(proc.stdout.readline()):
                if message.body.startswith("child pid "):
                    child_pid = int(message.body.split()[-1])
            if child_pid:
                break
        assert child_pid is not None
        assert os.getpgid(child_pid) == os.getpgid(proc.pid) == proc.pid
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout and proc.stdout.close()
        proc.stderr and proc.stderr.close()
    outcome = parser.finish(proc.returncode, "")
    assert outcome.failure_reason is FailureReason.AGENT_ERROR
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the whole group is gone, the sleep child included
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the hang scenario's child survived a group kill")


def test_claude_slow_streams_lines(tmp_path: Path) -> None:
    spec = get_provider("claude").launch(
        AgentConfig(provider="claude", command=fake_command("claude", "slow"), prompt="x")
    )
    proc = subprocess.Popen(
        spec.argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        cwd=tmp_path,
        start_new_session=True,
        text=True,
    )
    try:
        assert proc.stdout is not None
        parser = get_provider("claude").parser()
        bodies: list[str] = []
        while len(bodies) < 3:
            bodies += [m.body for m in parser.feed(proc.stdout.readline())]
        assert bodies == ["tick 1", "tick 2", "tick 3"]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout and proc.stdout.close()


def test_unknown_scenario_exits_2(tmp_path: Path) -> None:
    run = run_fake("claude", "no-such-scenario", tmp_path)
    assert run.outcome.exit_code == 2
    assert "unknown scenario" in run.stderr


# ---------------------------------------------------------------- codex


def test_codex_happy_prompt_from_stdin(tmp_path: Path) -> None:
    run = run_fake("codex", "happy", tmp_path, prompt=DASH_PROMPT, model="gpt-5-codex")
    assert run.argv[-1] == "-"
    assert run.session_ids[0] == "0199b0c4-2f1e-7a33-9c10-4be0d2a7e651"
    assert [m.kind for m in run.messages] == [K.THINKING, K.TOOL_CALL, K.TOOL_RESULT, K.AGENT]
    assert run.outcome.succeeded
    assert run.outcome.result_text == "You asked: -rf the old cache"
    assert run.outcome.usage == [
        Usage(model="gpt-5-codex", input_tokens=18250, output_tokens=342, cache_read_tokens=16100)
    ]


@pytest.mark.parametrize("scenario", ["failed", "error_exit_ok"])
def test_codex_fails_despite_exit_zero(tmp_path: Path, scenario: str) -> None:
    run = run_fake("codex", scenario, tmp_path)
    assert run.outcome.exit_code == 0
    assert run.outcome.succeeded is False
    assert run.outcome.failure_reason is FailureReason.AGENT_ERROR
    assert run.messages[-1].kind is K.ERROR


def test_codex_crash_and_tempfail(tmp_path: Path) -> None:
    crash = run_fake("codex", "crash", tmp_path)
    assert crash.outcome.failure_reason is FailureReason.AGENT_ERROR
    assert crash.outcome.error is not None and "panicked" in crash.outcome.error
    tempfail = run_fake("codex", "tempfail", tmp_path)
    assert tempfail.outcome.failure_reason is FailureReason.RUNTIME_OFFLINE


# ---------------------------------------------------------------- gemini


def test_gemini_happy(tmp_path: Path) -> None:
    run = run_fake("gemini", "happy", tmp_path, prompt=DASH_PROMPT)
    assert run.argv[4] == "--prompt=" + DASH_PROMPT
    assert run.session_ids[0] == "9d0e7c55-1b2a-4c3d-8e9f-a0b1c2d3e4f5"
    assert [m.kind for m in run.messages] == [K.TOOL_CALL, K.TOOL_RESULT, K.AGENT]
    assert run.outcome.succeeded
    assert run.outcome.result_text == "Patched the date parser. You asked: -rf the old cache"
    assert run.outcome.usage[0].model == "gemini-2.5-pro"
    assert run.outcome.usage[0].input_tokens == 28900


def test_gemini_error_and_turn_limit(tmp_path: Path) -> None:
    error = run_fake("gemini", "error", tmp_path)
    assert error.outcome.failure_reason is FailureReason.AGENT_ERROR
    assert error.outcome.error == "429 Resource exhausted"
    limit = run_fake("gemini", "turn_limit", tmp_path)
    assert limit.outcome.exit_code == 53
    assert limit.outcome.failure_reason is FailureReason.AGENT_ERROR
    assert limit.outcome.error is not None and "turn limit" in limit.outcome.error


# ---------------------------------------------------------------- command


def command_config(script: str, prompt: str = DASH_PROMPT) -> AgentConfig:
    return AgentConfig(provider="command", command=[sys.executable, "-c", script], prompt=prompt)


def test_command_reads_prompt_from_stdin_and_env(tmp_path: Path) -> None:
    script = (
        "import os, sys\n"
        "data = sys.stdin.read()\n"
        "print('stdin:', data.splitlines()[0])\n"
        "print('env:', os.environ['HANGAR_PROMPT'].splitlines()[1])\n"
        "print('https://github.com/acme/web/pull/3')\n"
    )
    run = run_config(command_config(script), tmp_path)
    assert [m.body for m in run.messages] == [
        "stdin: -rf the old cache",
        "env: then rebuild",
        "https://github.com/acme/web/pull/3",
    ]
    assert run.outcome.succeeded
    assert run.outcome.pr_url == "https://github.com/acme/web/pull/3"
    assert run.outcome.result_text is not None and run.outcome.result_text.endswith("pull/3")


@pytest.mark.parametrize(
    ("code", "reason"), [(75, FailureReason.RUNTIME_OFFLINE), (4, FailureReason.AGENT_ERROR)]
)
def test_command_failures(tmp_path: Path, code: int, reason: FailureReason) -> None:
    script = f"import sys\nprint('working')\nsys.stderr.write('it broke\\n')\nsys.exit({code})\n"
    run = run_config(command_config(script), tmp_path)
    assert run.outcome.failure_reason is reason
    assert run.outcome.error is not None and "it broke" in run.outcome.error
