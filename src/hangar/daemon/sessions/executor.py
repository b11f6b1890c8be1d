"""The IO seam for sessions: run one external program (tmux, git) as an argv list.

Everything above this module builds argv lists and parses results, so tests swap
:class:`SubprocessExecutor` for :class:`RecordingExecutor` and assert the exact argv.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


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


@dataclass(frozen=True)
class Call:
    argv: list[str]
    input: bytes | None
    timeout: float


@dataclass
class _Script:
    prefix: list[str]
    results: list[CommandResult | BaseException]


@dataclass
class RecordingExecutor:
    """A fake executor: records every call and answers from a script.

    ``script(prefix, *results)`` answers calls whose argv starts with ``prefix``; the longest
    matching prefix wins, the latest script among equals. Results are used in order and the
    last one repeats; an exception in the list is raised instead of returned. Unscripted
    calls get ``default``."""

    default: CommandResult = field(default_factory=lambda: CommandResult(0, "", ""))
    calls: list[Call] = field(default_factory=list)
    _scripts: list[_Script] = field(default_factory=list)

    def script(self, prefix: Sequence[str], *results: CommandResult | BaseException) -> None:
        if not results:
            raise ValueError("script() needs at least one result")
        self._scripts.append(_Script(list(prefix), list(results)))

    @property
    def argvs(self) -> list[list[str]]:
        return [c.argv for c in self.calls]

    async def run(
        self, argv: list[str], *, input: bytes | None = None, timeout: float = 10.0
    ) -> CommandResult:
        self.calls.append(Call(list(argv), input, timeout))
        matches = [s for s in self._scripts if argv[: len(s.prefix)] == s.prefix]
        if not matches:
            return self.default
        best = max(reversed(matches), key=lambda s: len(s.prefix))  # max keeps the first
        result = best.results.pop(0) if len(best.results) > 1 else best.results[0]
        if isinstance(result, BaseException):
            raise result
        return result
