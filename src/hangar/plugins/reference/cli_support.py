"""argparse for plugin CLIs: help and errors are captured, never printed or ``sys.exit``-ed.

A plugin's stdout is the JSON-RPC wire, so a parser must not write to it; what ``ainb``
shows comes back in ``CliOutput``. Errors exit 2 with the usage and one ``error:`` line on
stderr, as every argparse tool does.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from hangar.plugins.protocol import CliOutput

__all__ = ["CliParser", "ParseExit", "parse_or_output", "text_output"]


class ParseExit(Exception):
    """argparse wanted to stop: help was asked for, or the arguments were bad."""

    def __init__(self, output: CliOutput) -> None:
        super().__init__(output.exit_code)
        self.output = output


class CliParser(argparse.ArgumentParser):
    def print_help(self, file: Any = None) -> None:
        raise ParseExit(CliOutput(stdout=self.format_help().encode()))

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise ParseExit(CliOutput(stderr=(message or "").encode(), exit_code=status))

    def error(self, message: str) -> NoReturn:
        raise ParseExit(self.error_output(message))

    def error_output(self, message: str) -> CliOutput:
        """Exit 2 with the usage and ``<prog>: error: <message>``, e.g. for options that
        parse but conflict."""
        text = f"{self.format_usage()}{self.prog}: error: {message}\n"
        return CliOutput(stderr=text.encode(), exit_code=2)


def parse_or_output(parser: CliParser, argv: list[str]) -> argparse.Namespace | CliOutput:
    """The parsed arguments, or the output to return as is (help, or a usage error)."""
    try:
        return parser.parse_args(argv)
    except ParseExit as stop:
        return stop.output


def text_output(stdout: str = "", stderr: str = "", exit_code: int = 0) -> CliOutput:
    return CliOutput(stdout=stdout.encode(), stderr=stderr.encode(), exit_code=exit_code)
