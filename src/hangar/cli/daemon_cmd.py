"""hangar daemon start | stop | status | run"""

from __future__ import annotations

import os
import sys
import time

import click

from hangar.cli.common import common_options, emit_json, kv
from hangar.cli.errors import UNREACHABLE, CliError
from hangar.proto import api, calls


@click.group()
def daemon() -> None:
    """The daemon owns the database and runs every task; front ends talk to it."""


def _health(autostart: bool) -> api.HealthSnapshot:
    from hangar.cli.common import Daemon

    with Daemon(autostart=autostart) as d:
        return d.request(calls.HEALTH, api.Empty())


def _load(workspace: str | None) -> api.DaemonHealthSnapshot:
    from hangar.cli.common import Daemon

    with Daemon(autostart=False) as d:
        return d.request(calls.DAEMON_HEALTH, api.WorkspaceScoped(workspace_id=workspace))


@daemon.command()
@common_options
def start(as_json: bool, workspace: str | None) -> None:
    """Start the daemon in the background (does nothing if it is running)."""
    from hangar.cli.common import _started_daemon

    h = _health(autostart=True)
    _started_daemon.clear()  # this command's own line says it
    if as_json:
        emit_json(h)
    else:
        click.echo(f"daemon running (pid {h.pid}) at {h.socket_path}")


@daemon.command()
@click.option("--timeout", type=float, default=20.0, show_default=True, help="Seconds to wait.")
@common_options
def stop(timeout: float, as_json: bool, workspace: str | None) -> None:
    """Stop the daemon; running agents are stopped and their tasks retried on next start."""
    from hangar.cli.common import Daemon
    from hangar.client.autostart import process_running

    try:
        d = Daemon(autostart=False)
    except CliError as exc:
        if exc.code != UNREACHABLE:
            raise
        if as_json:
            emit_json({"stopped": False, "running": False})
        else:
            click.echo("daemon is not running")
        return
    with d:
        pid = d.request(calls.HEALTH, api.Empty()).pid
        try:
            d.request(calls.DAEMON_SHUTDOWN, api.Empty())
        except CliError as exc:
            if exc.code != UNREACHABLE:  # the daemon hanging up on us is the point
                raise
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process_running(pid):
            break
        time.sleep(0.02)
    else:
        raise CliError(f"daemon (pid {pid}) did not stop within {timeout:.0f}s")
    if as_json:
        emit_json({"stopped": True, "pid": pid})
    else:
        click.echo(f"daemon stopped (pid {pid})")


@daemon.command()
@common_options
def status(as_json: bool, workspace: str | None) -> None:
    """Is the daemon up, is its database migrated, and how busy is it (slots, runtimes, the
    last minute's successes and failures)? Exit 3 when down."""
    try:
        h = _health(autostart=False)
        load = _load(workspace)
    except CliError as exc:
        if exc.code == UNREACHABLE:
            if as_json:
                emit_json({"running": False, "error": exc.message})
            else:
                click.echo(f"daemon is not running ({exc.message})", err=True)
            raise click.exceptions.Exit(UNREACHABLE) from None
        raise
    if as_json:
        import msgspec

        emit_json({"running": True, **msgspec.to_builtins(h), "load": msgspec.to_builtins(load)})
        return
    runtimes = ", ".join(f"{r.provider} ({r.status})" for r in load.runtimes) or "none"
    kv(
        [
            ("running", "yes"),
            ("pid", h.pid),
            ("version", h.version),
            ("uptime", f"{h.uptime_secs:.0f}s"),
            ("socket", h.socket_path),
            (
                "database",
                f"{h.database} ({'migrated' if h.migrated else 'NOT migrated'}"
                f"{', revision ' + str(h.revision) if h.revision else ''})",
            ),
            ("clients", h.connected),
            ("daemon id", h.daemon_id),
            ("slots", f"{load.slots_used} of {load.slots_total} in use"),
            ("tasks", f"{load.concurrent_tasks} running, {load.queued_tasks} queued"),
            (
                "last minute",
                f"{sum(load.success_ring)} succeeded, {sum(load.failure_ring)} failed",
            ),
            ("runtimes", runtimes),
        ]
    )


@daemon.command()
@click.option("-v", "--verbose", is_flag=True, help="Echo the JSONL log to stderr.")
def run(verbose: bool) -> None:
    """Run the daemon in the foreground (same as ainb-hangar-daemon)."""
    argv = [sys.executable, "-m", "hangar.daemon"] + (["-v"] if verbose else [])
    os.execv(sys.executable, argv)
