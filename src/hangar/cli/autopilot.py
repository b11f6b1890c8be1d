"""hangar autopilot create | list | show | edit | enable | disable | run | runs | delete"""

from __future__ import annotations

from typing import Any

import click

from hangar.cli.common import common_options, emit_json, fmt_time, kv, request, status, table
from hangar.cli.errors import CliError
from hangar.proto import api, calls
from hangar.proto import autopilots as ap

_CRON_HELP = (
    'Standard 5-field cron ("0 3 * * *": 03:00 every day) or 6 fields with seconds first '
    '("*/30 * * * * *"), evaluated like Debian cron in --tz.'
)
_MODE_HELP = "run: a task with no issue; issue: each fire files an issue assigned to the agent."


@click.group()
def autopilot() -> None:
    """Recurring work: a cron schedule that hands instructions to an agent.

    \b
    hangar autopilot create --name nightly-deps --agent bot --cron "0 3 * * *" \\
        --tz Europe/Berlin --instructions "Update dependencies, run the tests, open a PR"
    hangar autopilot show nightly-deps      # the next 5 fire times, recent runs
    hangar autopilot run nightly-deps       # now (skipped while a run is unfinished)
    """


def _in_zone(ms: int | None, zone: str) -> str:
    """A fire time in the autopilot's own zone, with the zone's abbreviation."""
    if ms is None:
        return "-"
    import datetime as dt
    from zoneinfo import ZoneInfo

    try:
        tz: dt.tzinfo = ZoneInfo(zone)
    except (KeyError, ValueError):
        tz = dt.UTC
    return dt.datetime.fromtimestamp(ms / 1000, tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def _state(row: ap.AutopilotRow) -> str:
    if row.enabled:
        return click.style("enabled", fg="green")
    return click.style("paused" if row.disabled_reason else "disabled", fg="yellow")


@autopilot.command()
@click.option("--name", required=True, help="Unique name in the workspace.")
@click.option("--agent", required=True, help="The agent that does the work (name or id).")
@click.option("--cron", required=True, metavar="EXPR", help=_CRON_HELP)
@click.option("--instructions", required=True, help="What the agent is asked to do each time.")
@click.option("--tz", "zone", default="UTC", show_default=True, help="IANA time zone.")
@click.option(
    "--max-concurrent-runs",
    type=click.IntRange(1, ap.MAX_CONCURRENT_RUNS_LIMIT),
    default=1,
    show_default=True,
    help="A fire is skipped while this many runs are unfinished.",
)
@click.option(
    "--mode", type=click.Choice(["run", "issue"]), default="run", show_default=True, help=_MODE_HELP
)
@click.option("--disabled", is_flag=True, help="Create it disabled.")
@common_options
def create(
    name: str,
    agent: str,
    cron: str,
    instructions: str,
    zone: str,
    max_concurrent_runs: int,
    mode: str,
    disabled: bool,
    as_json: bool,
    workspace: str | None,
) -> None:
    """Create an autopilot."""
    row = request(
        calls.AUTOPILOT_CREATE,
        ap.AutopilotCreateParams(
            workspace_id=workspace,
            name=name,
            agent=agent,
            cron=cron,
            timezone=zone,
            instructions=instructions,
            max_concurrent_runs=max_concurrent_runs,
            mode=mode,  # type: ignore[arg-type]  # click.Choice checked it
            enabled=not disabled,
        ),
    )
    from hangar.cli.full_access import warn_for_agent  # its runs have full access (once)

    warn_for_agent(workspace, row.agent_id)
    if as_json:
        emit_json(row)
        return
    click.echo(f"created autopilot {row.name} ({row.id})")
    if row.enabled:
        click.echo(f"next fire: {_in_zone(row.next_tick_at, row.timezone)}")


@autopilot.command("list")
@common_options
def list_(as_json: bool, workspace: str | None) -> None:
    """List autopilots with their schedule and next fire."""
    rows = request(calls.AUTOPILOTS_LIST, api.WorkspaceScoped(workspace_id=workspace)).autopilots
    if as_json:
        emit_json(rows)
        return
    table(
        [
            (
                a.name,
                _state(a),
                a.cron_expr,
                a.timezone,
                a.agent_name,
                a.mode,
                f"{a.unfinished_runs}/{a.max_concurrent_runs}",
                _in_zone(a.next_tick_at, a.timezone),
            )
            for a in rows
        ],
        ["NAME", "STATE", "CRON", "TZ", "AGENT", "MODE", "RUNNING", "NEXT FIRE"],
    )


def _runs_table(runs: list[ap.AutopilotRunRow]) -> None:
    table(
        [
            (
                r.id,
                status(r.status),
                r.trigger,
                fmt_time(r.planned_at),
                fmt_time(r.completed_at),
                r.task_id or "",
                r.issue_id or "",
            )
            for r in runs
        ],
        ["RUN", "STATUS", "TRIGGER", "PLANNED", "FINISHED", "TASK", "ISSUE"],
    )


@autopilot.command()
@click.argument("name")
@common_options
def show(name: str, as_json: bool, workspace: str | None) -> None:
    """Show autopilot NAME: its settings, the next 5 fire times in its zone, recent runs."""
    detail = request(calls.AUTOPILOT_GET, ap.AutopilotRef(workspace_id=workspace, autopilot=name))
    if as_json:
        emit_json(detail)
        return
    a = detail.autopilot
    kv(
        [
            ("name", a.name),
            ("id", a.id),
            ("state", _state(a)),
            ("paused because", a.disabled_reason),
            ("agent", a.agent_name),
            ("cron", a.cron_expr),
            ("time zone", a.timezone),
            ("mode", a.mode),
            ("max concurrent", a.max_concurrent_runs),
            ("unfinished runs", a.unfinished_runs),
            ("instructions", a.instructions),
            ("created", fmt_time(a.created_at)),
        ]
    )
    click.echo("")
    click.echo(click.style("next fires", bold=True))
    for ms in detail.upcoming:
        click.echo(f"  {_in_zone(ms, a.timezone)}")
    if not detail.upcoming:
        click.echo("  none while disabled: hangar autopilot enable " + a.name)
    click.echo("")
    if detail.recent_runs:
        _runs_table(detail.recent_runs)
    else:
        click.echo("no runs yet")


@autopilot.command()
@click.argument("name")
@click.option("--name", "new_name", help="Rename it.")
@click.option("--agent", help="Hand it to another agent.")
@click.option("--cron", metavar="EXPR", help=_CRON_HELP)
@click.option("--tz", "zone", help="IANA time zone.")
@click.option("--instructions")
@click.option("--max-concurrent-runs", type=click.IntRange(1, ap.MAX_CONCURRENT_RUNS_LIMIT))
@click.option("--mode", type=click.Choice(["run", "issue"]), help=_MODE_HELP)
@common_options
def edit(name: str, as_json: bool, workspace: str | None, **changes: Any) -> None:
    """Change autopilot NAME; only the options given change. A new schedule or zone plans
    the next fire from now."""
    fields = {
        "name": changes["new_name"],
        "agent": changes["agent"],
        "cron": changes["cron"],
        "timezone": changes["zone"],
        "instructions": changes["instructions"],
        "max_concurrent_runs": changes["max_concurrent_runs"],
        "mode": changes["mode"],
    }
    if all(v is None for v in fields.values()):
        raise CliError("nothing to change: give at least one option (see --help)", 2)
    _update(ap.AutopilotUpdateParams(workspace_id=workspace, autopilot=name, **fields), as_json)


def _update(params: ap.AutopilotUpdateParams, as_json: bool) -> None:
    row = request(calls.AUTOPILOT_UPDATE, params)
    if as_json:
        emit_json(row)
        return
    nxt = f"; next fire {_in_zone(row.next_tick_at, row.timezone)}" if row.enabled else ""
    click.echo(f"autopilot {row.name}: {click.unstyle(_state(row))}{nxt}")


@autopilot.command()
@click.argument("name")
@common_options
def enable(name: str, as_json: bool, workspace: str | None) -> None:
    """Enable autopilot NAME; it next fires at its next planned time from now (missed fires
    are not replayed)."""
    _update(ap.AutopilotUpdateParams(workspace_id=workspace, autopilot=name, enabled=True), as_json)


@autopilot.command()
@click.argument("name")
@common_options
def disable(name: str, as_json: bool, workspace: str | None) -> None:
    """Disable autopilot NAME; runs already started go on."""
    _update(
        ap.AutopilotUpdateParams(workspace_id=workspace, autopilot=name, enabled=False), as_json
    )


@autopilot.command()
@click.argument("name")
@common_options
def run(name: str, as_json: bool, workspace: str | None) -> None:
    """Run autopilot NAME now, through the scheduler's own fire path: it is skipped (exit
    code 1) while its unfinished runs reach --max-concurrent-runs."""
    out = request(calls.AUTOPILOT_RUN, ap.AutopilotRef(workspace_id=workspace, autopilot=name))
    if as_json:
        emit_json(out)
    elif out.status == "running" and out.run is not None:
        click.echo(f"started run {out.run.id}: task {out.task_id}")
        if out.issue_id:
            click.echo(f"filed issue {out.issue_id}")
        click.echo(f"follow it: hangar task show {out.task_id}")
    if out.status == "skipped":
        raise CliError(f"skipped: {out.reason}; see: hangar autopilot runs {name}")


@autopilot.command()
@click.argument("name")
@click.option("--limit", type=click.IntRange(1, ap.RUNS_PAGE_MAX), default=20, show_default=True)
@common_options
def runs(name: str, limit: int, as_json: bool, workspace: str | None) -> None:
    """Recent runs of autopilot NAME, newest first."""
    out = request(
        calls.AUTOPILOT_RUNS,
        ap.AutopilotRunsParams(workspace_id=workspace, autopilot=name, limit=limit),
    )
    if as_json:
        emit_json(out.runs)
    elif out.runs:
        _runs_table(out.runs)
    else:
        click.echo("no runs yet")


@autopilot.command()
@click.argument("name")
@common_options
def delete(name: str, as_json: bool, workspace: str | None) -> None:
    """Delete autopilot NAME. Its runs are kept as history; the name can be used again."""
    out = request(calls.AUTOPILOT_DELETE, ap.AutopilotRef(workspace_id=workspace, autopilot=name))
    if as_json:
        emit_json(out)
    else:
        click.echo(f"deleted autopilot {out.name}; kept {out.runs_kept} run(s) as history")
