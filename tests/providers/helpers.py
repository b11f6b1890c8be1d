"""Helpers for provider tests: run a fake agent for real and parse its stdout."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from hangar.daemon.providers import AgentConfig, Message, Outcome, get_provider

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TRANSCRIPTS = FIXTURES / "transcripts"


@dataclass
class Run:
    argv: list[str]
    messages: list[Message]
    outcome: Outcome
    session_ids: list[str | None]
    """The parser's session id after each stdout line (to check it is pinned early)."""
    stdout: str
    stderr: str


def fake_command(provider: str, scenario: str) -> list[str]:
    """The argv prefix that replaces the bare CLI name with a fake script."""
    return [sys.executable, str(FIXTURES / f"fake_{provider}.py"), "--scenario", scenario]


def run_config(
    config: AgentConfig, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> Run:
    """Build the launch like the runner would, run it to completion, feed every line."""
    provider = get_provider(config.provider)
    spec = provider.launch(config)
    child_env = {**(env if env is not None else os.environ), **spec.env}
    proc = subprocess.run(
        spec.argv,
        input=spec.stdin,
        stdin=None if spec.stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        cwd=cwd,
        env=child_env,
        timeout=timeout,
        check=False,
    )
    stdout = proc.stdout.decode("utf-8", "replace")
    stderr = proc.stderr.decode("utf-8", "replace")
    parser = provider.parser(config.model)
    messages: list[Message] = []
    session_ids: list[str | None] = []
    for line in stdout.splitlines():
        messages += parser.feed(line)
        session_ids.append(parser.session_id)
    outcome = parser.finish(proc.returncode, stderr[-4000:])
    return Run(spec.argv, messages, outcome, session_ids, stdout, stderr)


DEFAULT_PROMPT = "Fix the login redirect\nDetails follow."


def run_fake(
    provider: str,
    scenario: str,
    cwd: Path,
    *,
    prompt: str = DEFAULT_PROMPT,
    model: str | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    """Run ``fake_<provider>.py --scenario <scenario>`` through the provider's real argv."""
    config = AgentConfig(
        provider=provider,
        command=fake_command(provider, scenario),
        model=model,
        prompt=prompt,
        task_root=str(cwd / "task-root"),
        workdir=str(cwd),
    )
    return run_config(config, cwd, env=env)


def read_transcript(name: str) -> list[str]:
    return (TRANSCRIPTS / name).read_text(encoding="utf-8").splitlines()
