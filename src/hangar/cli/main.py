"""Entry points: ``hangar`` and ``ainb`` (``ainb hangar …`` is the same tree).

Subcommands load lazily so ``hangar --help`` and ``hangar issue list`` import only what
they use: the CLI must start well under 150 ms."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from hangar import __version__
from hangar.cli.errors import ERROR, USAGE, CliError

_HANGAR_COMMANDS = {
    "daemon": ("hangar.cli.daemon_cmd", "daemon", "Start, stop and inspect the daemon."),
    "workspace": ("hangar.cli.workspace", "workspace", "List, create and switch workspaces."),
    "agent": ("hangar.cli.agent", "agent", "Create and inspect agents."),
    "issue": ("hangar.cli.issue", "issue", "File work as issues and assign it to agents."),
    "task": ("hangar.cli.task", "task", "Follow, cancel and retry agent runs."),
    "logs": ("hangar.cli.logs", "logs", "Read the daemon's structured logs."),
    "session": ("hangar.cli.session", "session", "Interactive agents in tmux + git worktrees."),
    "demo": ("hangar.cli.demo", "demo", "Run one issue end to end in a throwaway sandbox."),
    "mcp": ("hangar.cli.mcp_cmd", "mcp", "Serve the workspace MCP tools over stdio."),
}


class LazyGroup(click.Group):
    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self._lazy:
            module, attr, _ = self._lazy[name]
            cmd = getattr(importlib.import_module(module), attr)
            assert isinstance(cmd, click.Command)
            return cmd
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # help text without importing every subcommand module
        rows = [(name, self._lazy[name][2]) for name in sorted(self._lazy)]
        rows += [
            (name, cmd.get_short_help_str())
            for name in super().list_commands(ctx)
            if (cmd := super().get_command(ctx, name)) is not None
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(sorted(rows))


HANGAR_HELP = """Hangar: file work as issues, hand it to coding agents, and watch every run.

\b
Quick start:
  hangar demo                                   # see one issue run end to end
  hangar agent create --name bot --provider claude --repo .
  hangar issue create --title "Fix the flaky test" --assign bot
  hangar task log TASK_ID -f

Every command takes --json and --workspace SLUG. Exit codes: 0 ok, 1 error, 2 usage,
3 daemon unreachable, 4 not found. Commands that need the daemon start it.
"""


@click.group(
    cls=LazyGroup,
    lazy=_HANGAR_COMMANDS,
    help=HANGAR_HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="hangar")
def hangar() -> None:
    pass


class AinbGroup(LazyGroup):
    """Names that are not built-in commands resolve to plugin CLI namespaces.

    Only manifests are read (help and lookup never start a plugin)."""

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        cmd = super().get_command(ctx, name)
        if cmd is None:
            from hangar.cli.plugins_cmd import namespace_command

            cmd = namespace_command(name, reserved=self._builtin_names(ctx))
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_commands(ctx, formatter)
        from hangar.cli.plugins_cmd import namespace_help_rows

        rows = namespace_help_rows(reserved=self._builtin_names(ctx))
        if rows:
            with formatter.section("Plugin commands"):
                formatter.write_dl(rows)

    def _builtin_names(self, ctx: click.Context) -> set[str]:
        return set(super().list_commands(ctx))


@click.group(
    cls=AinbGroup,
    lazy={
        "hangar": ("hangar.cli.main", "hangar", "The Hangar control plane (same as `hangar`)."),
        "plugins": ("hangar.cli.plugins_cmd", "plugins", "Discover, check and reload plugins."),
    },
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="ainb")
def ainb() -> None:
    """ainb: agents in a box."""


def _run(group: click.Group, prog: str) -> int:
    try:
        rv = group.main(prog_name=prog, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return ERROR
    except click.ClickException as exc:
        exc.show()
        return USAGE if isinstance(exc, click.UsageError) else exc.exit_code
    except CliError as exc:
        click.echo(f"{prog}: error: {exc.message}", err=True)
        return exc.code
    except BrokenPipeError:
        return ERROR
    return rv if isinstance(rv, int) else 0


def hangar_main() -> None:
    sys.exit(_run(hangar, "hangar"))


def ainb_main() -> None:
    sys.exit(_run(ainb, "ainb"))
