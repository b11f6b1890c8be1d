"""Entry points: ``hangar`` and ``ainb`` (``ainb hangar …`` is the same tree).

Subcommands load lazily so ``hangar --help`` and ``hangar issue list`` import only what
they use (``bench/cli_startup.py`` times them against a bare interpreter). The cyclic
garbage collector rests while a command's modules load and at exit (``_pause_gc``,
``_entry``): together about a quarter of ``hangar issue list``'s time."""

from __future__ import annotations

import atexit
import gc
import importlib
import sys
from typing import Any

import click

from hangar import __version__
from hangar.cli.errors import ERROR, USAGE, CliError

_HANGAR_COMMANDS = {
    "daemon": ("hangar.cli.daemon_cmd", "daemon", "Start, stop and inspect the daemon."),
    "workspace": ("hangar.cli.workspace", "workspace", "List, create, rename, switch workspaces."),
    "agent": ("hangar.cli.agent", "agent", "Create and inspect agents."),
    "autopilot": ("hangar.cli.autopilot", "autopilot", "Recurring work on a cron schedule."),
    "issue": ("hangar.cli.issue", "issue", "File work as issues and assign it to agents."),
    "task": ("hangar.cli.task", "task", "Follow, cancel and retry agent runs."),
    "logs": ("hangar.cli.logs", "logs", "Read the daemon's structured logs."),
    "session": ("hangar.cli.session", "session", "Interactive agents in tmux + git worktrees."),
    "demo": ("hangar.cli.demo", "demo", "Run one issue end to end in a throwaway sandbox."),
    "mcp": ("hangar.cli.mcp_cmd", "mcp", "Serve the workspace MCP tools over stdio."),
    "tui": ("hangar.cli.tui_cmd", "tui", "The terminal UI: issues, tasks, kanban, health, logs."),
    "skills": ("hangar.cli.skills", "skills", "Sync Agent Skills and attach them to agents."),
    "templates": ("hangar.cli.templates", "templates", "Ten curated agents, ready to use."),
    "config": ("hangar.cli.config_cmd", "config", "Settings, the env allowlist, warnings."),
    "secrets": ("hangar.cli.secrets_cmd", "secrets", "Agents' API keys, in the OS keychain."),
    "auth": ("hangar.cli.auth", "auth", "Personal tokens with a scope: read, write, admin."),
    "beads": ("hangar.cli.beads_cmd", "beads", "Mirror issues to a beads (bd) tracker."),
    "notify": ("hangar.cli.notify_cmd", "notify", "Be told when work needs you: desktop, webhook."),
}


class LazyGroup(click.Group):
    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, cmd, rest = super().resolve_command(ctx, args)
        if not isinstance(cmd, LazyGroup):  # its modules are loaded: the command runs next
            _resume_gc()
        return name, cmd, rest

    def invoke(self, ctx: click.Context) -> Any:
        if self.invoke_without_command:  # it may run itself (`ainb`: the home screen)
            _resume_gc()
        return super().invoke(ctx)

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
        "serve": ("hangar.cli.tui_cmd", "serve", "The terminal UI in a browser tab (localhost)."),
    },
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="ainb")
@click.pass_context
def ainb(ctx: click.Context) -> int | None:
    """ainb: agents in a box. Without a command: the home screen (sessions, plugin screens;
    g opens Hangar)."""
    if ctx.invoked_subcommand is None:
        from hangar.cli.tui_cmd import run_home

        return run_home()
    return None


class _Collector:
    paused = False
    """``_pause_gc`` turned the collector off; ``_resume_gc`` turns it back on."""
    froze = False
    """``_resume_gc`` froze what the imports built; ``_restore_gc`` thaws it."""


def _pause_gc() -> None:
    """No cyclic collections while the command's modules load.

    Imports allocate thousands of objects that live as long as the process (classes,
    functions, structs' metadata); each collection on the way would walk them all again
    and free nothing. ``_resume_gc`` turns the collector back on before the command runs,
    so a long-running one (``task log -f``, ``mcp``, the TUI) collects as usual."""
    if gc.isenabled():
        gc.disable()
        _Collector.paused = True


def _resume_gc() -> None:
    """The command's modules are loaded: freeze what they built, so that collections from
    here on skip it rather than walk it (it stays alive anyway), and collect as usual."""
    if _Collector.paused:
        _Collector.paused = False
        gc.freeze()
        _Collector.froze = True
        gc.enable()


def _restore_gc() -> None:
    """The collector as ``_run`` found it: on, nothing frozen (for a caller that goes on)."""
    _resume_gc()
    if _Collector.froze:
        _Collector.froze = False
        gc.unfreeze()


def _entry(group: click.Group, prog: str) -> None:
    # At shutdown, after the atexit handlers registered later, freezing every object spares
    # the interpreter from walking them all to free memory the process gives back anyway.
    # What is still in a reference cycle then is not finalised: Python never promises it.
    atexit.register(gc.freeze)
    sys.exit(_run(group, prog))


def _run(group: click.Group, prog: str) -> int:
    _pause_gc()
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
    finally:
        _restore_gc()
    return rv if isinstance(rv, int) else 0


def hangar_main() -> None:
    _entry(hangar, "hangar")


def ainb_main() -> None:
    _entry(ainb, "ainb")
