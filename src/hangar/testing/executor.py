"""A fake :class:`~hangar.adapters.executor.Executor`: records every argv and answers from
a script, so tests assert the exact commands without running them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from hangar.adapters.executor import CommandResult

__all__ = ["Call", "RecordingExecutor"]


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
