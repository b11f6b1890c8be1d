"""The CLI starts lean: `hangar --help` and each command load only what they use.

How fast that makes it is measured in `bench/cli_startup.py`, never here. These tests guard
the imports behind it: a heavy module pulled onto the CLI's path fails here, by name.
"""

from __future__ import annotations

import functools
import gc
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import click
import pytest

from hangar.cli import main
from tests.e2e.harness import Hangar

#: what a command that only talks to the daemon must never load: the daemon's and the
#: store's stacks, the event loop, the TUI, the MCP server, the plugin host
HEAVY = (
    "asyncio",
    "sqlalchemy",
    "alembic",
    "aiosqlite",
    "asyncpg",
    "structlog",
    "rich",
    "textual",
    "mcp",
    "hangar.daemon",
    "hangar.store",
    "hangar.mcp",
    "hangar.tui",
    "hangar.plugins",
)

#: runs the `hangar` entry point in a fresh interpreter, then names every module it loaded
PROBE = """
import sys
sys.argv = ["hangar", *sys.argv[1:]]
from hangar.cli.main import hangar_main
try:
    hangar_main()
except SystemExit as exc:
    code = exc.code
print("\\nMODULES " + " ".join(sorted(sys.modules)), file=sys.stderr)
sys.exit(code)
"""

COMMAND_MODULES = sorted({module for module, _, _ in main._HANGAR_COMMANDS.values()})


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def run_hangar(*args: str, env: dict[str, str] | None = None) -> tuple[str, set[str]]:
    """``hangar <args>``'s stdout, and the modules it had loaded when it finished (beyond
    what the bare interpreter loads: a ``.pth`` hook, say coverage's, is not the CLI's)."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    marker = proc.stderr.rsplit("\nMODULES ", 1)
    assert len(marker) == 2, proc.stderr
    return proc.stdout, set(marker[1].split()) - bare_interpreter()


def imported_by(statement: str, *, bare: bool = False) -> set[str]:
    """The modules loaded after ``statement``, beyond the bare interpreter's."""
    code = f"{statement}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split()) - (set() if bare else bare_interpreter())


@functools.cache
def bare_interpreter() -> frozenset[str]:
    return frozenset(imported_by("pass", bare=True))


def test_help_lists_every_command_without_loading_one() -> None:
    out, modules = run_hangar("--help")
    for name, (_, _, short) in main._HANGAR_COMMANDS.items():
        assert re.search(rf"^  {name} +{re.escape(short)}$", out, re.M), (name, out)
    assert heavy(modules) == []
    # the short help is stored with the command table: no command module is imported
    assert sorted(set(COMMAND_MODULES) & modules) == []
    assert not {"msgspec", "hangar.proto", "hangar.client", "socket"} & modules


def test_the_stored_short_help_names_real_commands() -> None:
    ctx = click.Context(main.hangar)
    for name, (module, attr, short) in main._HANGAR_COMMANDS.items():
        cmd = main.hangar.get_command(ctx, name)
        assert isinstance(cmd, click.Command), (name, module, attr)
        assert short and short.endswith("."), name


@pytest.mark.parametrize("module", [*COMMAND_MODULES, "hangar.cli.plugins_cmd"])
def test_a_command_module_imports_nothing_heavy(module: str) -> None:
    modules = imported_by(f"import {module}")
    assert heavy(modules) == []
    # the client (sockets, the daemon's autostart) loads when a command runs, not before
    assert "hangar.client" not in modules


def test_issue_list_against_a_daemon_stays_off_the_event_loop(hangar: Hangar) -> None:
    hangar.run("daemon", "start")
    hangar.run("issue", "create", "--title", "lean start", "--no-repo")
    out, modules = run_hangar("issue", "list", env=hangar.env)
    assert "lean start" in out
    assert heavy(modules) == []
    # only `issue create` looks for the repository you are in; --json alone needs json
    assert "hangar.adapters.repos" not in modules
    assert "json" not in modules


# -- the collector: paused while modules load, on while the command runs -------------------


@pytest.fixture
def collector() -> Iterator[None]:
    """``_run`` in this process: it must leave the collector as it found it."""
    assert gc.isenabled() and gc.get_freeze_count() == 0
    yield
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0  # nothing left frozen for a caller that goes on


seen: list[bool] = []


@click.command()
def probe_command() -> None:
    seen.append(gc.isenabled())


def probe_group(**attrs: Any) -> main.LazyGroup:
    lazy = {"run": (__name__, "probe_command", "Record whether the collector is on.")}
    return main.LazyGroup(name="probe", lazy=lazy, **attrs)


def test_a_command_runs_with_the_collector_on(
    collector: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen.clear()
    monkeypatch.setattr(sys, "argv", ["probe", "run"])
    assert main._run(probe_group(), "probe") == 0
    assert seen == [True]  # a long-running command (`task log -f`, `mcp`) collects
    assert gc.isenabled() and gc.get_freeze_count() == 0
    for argv, code in ((["probe", "--help"], 0), (["probe", "nope"], 2)):
        monkeypatch.setattr(sys, "argv", argv)  # no command resolved: still restored
        assert main._run(probe_group(), "probe") == code
        assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_group_that_runs_itself_runs_with_the_collector_on(
    collector: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen.clear()
    group = probe_group(invoke_without_command=True, callback=lambda: seen.append(gc.isenabled()))
    monkeypatch.setattr(sys, "argv", ["probe"])  # `ainb` alone: the home screen
    assert main._run(group, "probe") == 0
    assert seen == [True]
