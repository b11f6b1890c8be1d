"""Exit codes and the one-line errors every command prints."""

from __future__ import annotations

OK = 0
ERROR = 1
USAGE = 2
UNREACHABLE = 3
NOT_FOUND = 4


class CliError(Exception):
    def __init__(self, message: str, code: int = ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
