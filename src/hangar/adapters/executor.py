"""The command seam: run one external program (tmux, git, ...) as an argv list.

Everything above this module builds argv lists and parses results, so tests swap
:class:`SubprocessExecutor` for ``hangar.testing.executor.RecordingExecutor`` and assert
the exact argv.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["CommandResult", "CommandTimeout", "Executor", "SubprocessExecutor"]


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


class CommandTimeout(TimeoutError):
    """The program ran past its timeout and was killed."""

    def __init__(self, argv: Sequence[str], timeout: float) -> None:
        super().__init__(f"{' '.join(argv)!r} timed out after {timeout:g}s and was killed")
        self.argv = list(argv)
        self.timeout = timeout


class Executor(Protocol):
    async def run(
        self, argv: list[str], *, input: bytes | None = None, timeout: float = 10.0
    ) -> CommandResult: ...


class SubprocessExecutor:
    """Runs argv through ``asyncio.create_subprocess_exec``: never a shell, never blocking.

    A missing program raises ``FileNotFoundError`` (an ``OSError``) from ``run``."""

    async def run(
        self, argv: list[str], *, input: bytes | None = None, timeout: float = 10.0
    ) -> CommandResult:
        if not argv:
            raise ValueError("empty argv")
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(input), timeout)
        except TimeoutError:
            await _kill(proc)
            raise CommandTimeout(argv, timeout) from None
        except BaseException:  # cancelled: don't leave the child running unobserved
            await _kill(proc)
            raise
        assert proc.returncode is not None
        return CommandResult(
            proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")
        )


async def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    # shielded so a second cancellation cannot leave a zombie behind
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.shield(proc.wait())
