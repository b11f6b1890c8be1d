"""Test helpers: polling to a deadline (never a guessed sleep) and a git shorthand."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

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
