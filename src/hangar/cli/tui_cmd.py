"""ainb (no arguments) | ainb hangar tui | hangar tui | ainb serve

The CLI and the TUI are independent front ends (import-linter): the CLI hands over to the
TUI by module name, so ``hangar issue list`` never imports Textual.
"""

from __future__ import annotations

import importlib
import sys

import click

from hangar.cli.errors import ERROR, UNREACHABLE, USAGE, CliError

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
@click.option(
    "--token",
    metavar="TOKEN",
    help="A personal token (ainb_…, see `hangar auth token`): every tab gets its scope "
    "(default: $HANGAR_TOKEN, else full power). Prefer $HANGAR_TOKEN: argv is visible to "
    "other processes.",
)
def serve(port: int, workspace: str | None, token: str | None) -> None:
    """The same UI in a browser tab: open the one-time link it prints."""
    import os

    note = _serve_as(token) if token or os.environ.get("HANGAR_TOKEN") else None
    try:
        importlib.import_module("hangar.tui.serve").serve(port=port, workspace=workspace, note=note)
    except OSError as exc:
        raise CliError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None


def _serve_as(token: str | None) -> str:
    """Check the token (``--token``, else ``$HANGAR_TOKEN``) once, before any tab opens;
    each tab's app process then says hello with it, through its environment (never argv)."""
    import os

    from hangar.client import DaemonUnreachable, RemoteError, SyncClient

    try:
        with SyncClient.connect(token=token) as client:
            scope = client.scope
    except DaemonUnreachable as exc:
        raise CliError(exc.brief, UNREACHABLE) from None
    except RemoteError as exc:
        raise CliError(exc.message, ERROR) from None
    if token:
        os.environ["HANGAR_TOKEN"] = token
    return f"every tab acts with this token's scope: {scope}"
