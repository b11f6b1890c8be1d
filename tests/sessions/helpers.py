"""Test helpers: polling to a deadline (never a guessed sleep) and a git shorthand."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


async def wait_until(
    probe: Callable[[], Awaitable[T]],
    check: Callable[[T], bool],
    *,
    timeout: float = 5.0,
    interval: float = 0.05,
) -> T:
    """Call ``probe`` until ``check`` accepts its value; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if check(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value:\n{value}")
        await asyncio.sleep(interval)


def git(cwd: Path, *args: str) -> str:
    """Run git synchronously for test setup; fail the test on a non-zero exit."""
    res = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True)
    assert res.returncode == 0, f"git {' '.join(args)}: {res.stderr}"
    return res.stdout.strip()


#: An agent that records what it was started with — working directory, ``PWD``, arguments,
#: environment — as JSON in ``<its own path>.json``, then waits to be ended.
DUMPER = f"""#!{sys.executable}
import json, os, sys, time
out = sys.argv[0] + ".json"
state = {{"cwd": os.getcwd(), "argv": sys.argv[1:], "env": dict(os.environ)}}
with open(out + ".tmp", "w") as f:
    json.dump(state, f)
os.replace(out + ".tmp", out)
print("dumped", flush=True)
time.sleep(3600)
"""


def write_dumper(path: Path) -> Path:
    """:data:`DUMPER` as an executable at ``path`` (parents made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(DUMPER)
    path.chmod(0o755)
    return path


async def read_dump(dumper: Path, timeout: float = 15.0) -> dict[str, Any]:
    """What the dumper at ``dumper`` recorded, once it has."""
    out = Path(f"{dumper}.json")

    async def probe() -> dict[str, Any] | None:
        return json.loads(out.read_text()) if out.exists() else None

    dump = await wait_until(probe, lambda d: d is not None, timeout=timeout)
    assert dump is not None
    return dump


def format_payload(marker: Path) -> str:
    """Text tmux would act on if it expanded formats in it: ``#(…)`` would create
    ``marker``, ``#{…}`` and ``#S`` would be replaced, ``##`` would become ``#``."""
    return f"#(touch {marker})#{{pane_id}}#S##"


async def start_foreign_server(socket: str, env: dict[str, str]) -> None:
    """A tmux server on ``socket`` started by someone else, from environment ``env``."""
    proc = await asyncio.create_subprocess_exec(
        "tmux", "-L", socket, "new-session", "-d", "-s", "mine", "cat", env=env
    )
    assert await proc.wait() == 0


async def server_environment(socket: str) -> dict[str, str]:
    """The global environment of the tmux server on ``socket``."""
    proc = await asyncio.create_subprocess_exec(
        "tmux", "-L", socket, "show-environment", "-g", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    pairs = (line.split("=", 1) for line in out.decode().splitlines() if "=" in line)
    return {k: v for k, v in pairs}
