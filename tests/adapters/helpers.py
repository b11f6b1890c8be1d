"""Waiting for a condition to a deadline: never a guessed sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

#: generous: the suite runs on loaded 2-core machines
DEADLINE_S = 20.0


async def eventually(check: Callable[[], bool], *, timeout: float = DEADLINE_S) -> None:
    """Return once ``check()`` holds; fail when it still does not after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout}s: {check}")
        await asyncio.sleep(0.02)


def eventually_sync(check: Callable[[], bool], *, timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout}s: {check}")
        time.sleep(0.02)
