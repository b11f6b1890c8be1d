"""ainb (no arguments) | ainb hangar tui | hangar tui | ainb serve

The CLI and the TUI are independent front ends (import-linter): the CLI hands over to the
TUI by module name, so ``hangar issue list`` never imports Textual.
"""

from __future__ import annotations

import importlib
import sys

import click

from hangar.cli.errors import USAGE, CliError

DEFAULT_PORT = 8765


def _needs_terminal(what: str) -> None:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CliError(f"{what} needs a terminal (for scripts: hangar … --json)", USAGE)


def run_home(workspace: str | None = None) -> int:
    _needs_terminal("ainb")
    return int(importlib.import_module("hangar.tui.run").main(start="home", workspace=workspace))


@click.command()
@click.option(
    "--workspace", "-w", envvar="HANGAR_WORKSPACE", metavar="SLUG", help="Workspace slug or id."
)
def tui(workspace: str | None) -> None:
    """The terminal UI: 1 issues, 2 task, K kanban, D health, L logs, ? keys, ctrl+p commands."""
    _needs_terminal("hangar tui")
    importlib.import_module("hangar.tui.run").main(start="issues", workspace=workspace)


@click.command()
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port on 127.0.0.1 (never other interfaces).",
)
@click.option(
    "--workspace", "-w", envvar="HANGAR_WORKSPACE", metavar="SLUG", help="Workspace slug or id."
)
def serve(port: int, workspace: str | None) -> None:
    """The same UI in a browser tab: open the one-time link it prints."""
    try:
        importlib.import_module("hangar.tui.serve").serve(port=port, workspace=workspace)
    except OSError as exc:
        raise CliError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
