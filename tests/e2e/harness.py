"""The end-to-end harness: a real daemon process over its real socket, driven by the real CLI.

Nothing here is faked but the agents, which are scripts speaking the real CLIs' formats."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TERMINAL = {"done", "failed", "cancelled"}


def fake_agent(provider: str, scenario: str) -> str:
    """A --command value that runs a fake CLI script in place of the real one."""
    return f"{sys.executable} {FIXTURES / f'fake_{provider}.py'} --scenario {scenario}"


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    (path / "README.md").write_text("# test repo\n")
    subprocess.run([*git, "add", "README.md"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], check=True)
    return path


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Hangar:
    """Runs ``hangar …`` as a user would, against one isolated home."""

    home: Path
    env: dict[str, str]
    tmp: Path
    started: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tmp.mkdir(parents=True, exist_ok=True)  # commands run there (never a checkout)

    def run(
        self,
        *args: str,
        ok: bool = True,
        timeout: float = 60,
        extra_env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "hangar.cli", *args],
            env={**self.env, **(extra_env or {})},
            # never the project's checkout: commands default to the repository they run in
            cwd=cwd or self.tmp,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        res = Result(proc.returncode, proc.stdout, proc.stderr)
        if ok and res.code != 0:
            raise AssertionError(f"hangar {' '.join(args)} exited {res.code}: {res.err or res.out}")
        return res

    def json(self, *args: str) -> Any:
        return self.run(*args, "--json").json()

    @property
    def daemon_pid(self) -> int | None:
        try:
            return int((self.home / "daemon.pid").read_text())
        except (OSError, ValueError):
            return None

    def agent(self, name: str, provider: str, scenario: str, *extra: str) -> dict[str, Any]:
        cmd = fake_agent(provider, scenario)
        return self.json(
            "agent", "create", "--name", name, "--provider", provider, "--command", cmd, *extra
        )

    def assign(self, agent: str, title: str = "Do the thing", *extra: str) -> dict[str, Any]:
        res = self.json("issue", "create", "--title", title, "--assign", agent, *extra)
        assert res["task"] is not None
        return res

    def task(self, task_id: str) -> dict[str, Any]:
        return self.json("task", "show", task_id)["task"]

    def wait_status(self, task_id: str, statuses: set[str], timeout: float = 30) -> dict[str, Any]:
        return wait_until(
            lambda: (t := self.task(task_id))["status"] in statuses and t,
            timeout=timeout,
            interval=0.1,
        )

    def wait_done(self, task_id: str, timeout: float = 30) -> dict[str, Any]:
        return self.wait_status(task_id, TERMINAL, timeout)

    def messages(self, task_id: str) -> list[dict[str, Any]]:
        out = self.run("task", "log", task_id, "--json").out
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def kill_daemon(self) -> None:
        pid = self.daemon_pid
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: not pid_alive(pid), timeout=10)

    def stop(self) -> None:
        self.run("daemon", "stop", ok=False)
        pid = self.daemon_pid
        if pid is not None and pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
