"""hangar notify add desktop|webhook|command … | list | remove ID | test ID

Channels through which the daemon tells you that work needs you: a task failed, a session
waits for input, a dependent issue is stranded, an autopilot disabled itself
(docs/notifications.md). Values are checked here and again by the daemon; a webhook's
secret is read from stdin, never from the command line.
"""

from __future__ import annotations

import sys

import click

from hangar.cli.common import (
    common_options,
    emit_json,
    fmt_time,
    request,
    table,
    usage_error,
)
from hangar.core import notify as n

EVENTS_HELP = (
    "Comma-separated events: "
    + ", ".join(n.EVENT_KINDS)
    + ", or all. Default: every one but task.done."
)
STATUS_STYLE = {"delivered": "green", "failed": "red", "dropped": "yellow", "coalesced": "cyan"}


@click.group()
def notify() -> None:
    """Be told when work needs you: on the desktop, by webhook, or by a command.

    \b
    Events: task.failed, task.done, session.waiting, session.exited (exited or orphaned),
    dependency.stranded (a blocker failed), autopilot.paused (it disabled itself).
    Bursts coalesce: the first goes at once, the rest of the minute as one message.

    \b
      hangar notify add desktop
      printf %s "$SECRET" | hangar notify add webhook https://example.com/hook --secret-from-stdin
      hangar notify add command "curl -sS -d @- https://ntfy.sh/my-topic" --events task.failed
      hangar notify test ID
    """


def _events(text: str | None) -> list[str] | None:
    if text is None:
        return None
    try:
        return list(n.parse_events(text))
    except n.NotifyError as exc:
        raise usage_error(str(exc)) from None


def _events_option(fn: click.decorators.FC) -> click.decorators.FC:
    return click.option("--events", "events", metavar="E,…", help=EVENTS_HELP)(fn)


def _add(as_json: bool, **fields: object) -> None:
    from hangar.proto import calls
    from hangar.proto import notify as pn

    row = request(calls.NOTIFY_ADD, pn.NotifyAddParams(**fields))  # type: ignore[arg-type]
    if as_json:
        emit_json(row)
        return
    target = f" {row.target}" if row.target else ""
    click.echo(f"added {row.kind} channel {row.id}{target}")
    click.echo(f"events: {', '.join(row.events)}")
    if row.signed:
        click.echo("bodies are signed: X-Hangar-Signature: sha256=<HMAC of the body>")
    if row.unavailable:
        click.echo(row.unavailable, err=True)
    click.echo(f"try it: hangar notify test {row.id}", err=True)


@notify.group("add")
def add() -> None:
    """Add a channel: desktop, webhook URL, or command "ARGV"."""


@add.command("desktop")
@_events_option
@common_options
def add_desktop(events: str | None, as_json: bool, workspace: str | None) -> None:
    """Desktop notifications (notify-send on Linux, osascript on macOS)."""
    _add(as_json, kind="desktop", events=_events(events))


@add.command("webhook")
@click.argument("url")
@click.option(
    "--secret-from-stdin",
    is_flag=True,
    help="Read the HMAC-SHA256 signing key from stdin; bodies are then signed.",
)
@_events_option
@common_options
def add_webhook(
    url: str, secret_from_stdin: bool, events: str | None, as_json: bool, workspace: str | None
) -> None:
    """POST each event as JSON to URL (http or https), signed when given a secret."""
    try:
        n.check_webhook_url(url)
    except n.NotifyError as exc:
        raise usage_error(str(exc)) from None
    wanted = _events(events)
    secret = _read_secret() if secret_from_stdin else None
    _add(as_json, kind="webhook", url=url, secret=secret, events=wanted)


def _read_secret() -> str:
    if sys.stdin.isatty():
        value: str = click.prompt("webhook secret (input hidden)", hide_input=True, err=True)
    else:
        value = sys.stdin.read()
        if value.endswith("\n"):
            value = value[:-1].removesuffix("\r")
    if not value:
        raise usage_error("--secret-from-stdin: no secret on stdin")
    return value


@add.command("command")
@click.argument("argv", metavar='"ARGV"')
@_events_option
@common_options
def add_command(argv: str, events: str | None, as_json: bool, workspace: str | None) -> None:
    """Run ARGV (split like a shell would, never run by one) with the event's JSON on
    stdin. Killed when it runs past the timeout (HANGAR_NOTIFY_TIMEOUT, default 10s)."""
    try:
        n.parse_command(argv)
    except n.NotifyError as exc:
        raise usage_error(str(exc)) from None
    _add(as_json, kind="command", command=argv, events=_events(events))


@notify.command("list")
@common_options
def list_(as_json: bool, workspace: str | None) -> None:
    """The channels, whether each can deliver, and their latest deliveries."""
    from hangar.proto import api, calls

    res = request(calls.NOTIFY_LIST, api.Empty())
    if as_json:
        emit_json(res)
        return
    if not res.channels:
        click.echo("no notification channels (hangar notify add desktop)", err=True)
        return
    rows = [
        (
            c.id,
            c.kind,
            (c.target or "-") + (" (signed)" if c.signed else ""),
            ",".join(c.events),
            c.unavailable or "ok",
        )
        for c in res.channels
    ]
    table(rows, ["ID", "KIND", "TARGET", "EVENTS", "STATE"])
    for c in res.channels:
        if not c.deliveries:
            continue
        click.echo(f"\n{c.id} latest:")
        for d in c.deliveries:
            said = click.style(d.status, fg=STATUS_STYLE.get(d.status))
            tries = f" after {d.attempts} attempts" if d.attempts > 1 else ""
            why = f": {d.error}" if d.error else ""
            click.echo(f"  {fmt_time(d.created_at)}  {d.kind}  {said}{tries}{why}")


@notify.command("remove")
@click.argument("channel_id", metavar="ID")
@common_options
def remove(channel_id: str, as_json: bool, workspace: str | None) -> None:
    """Remove a channel, its history and its secret."""
    from hangar.proto import calls
    from hangar.proto import notify as pn

    res = request(calls.NOTIFY_REMOVE, pn.NotifyRef(id=channel_id))
    if as_json:
        emit_json(res)
        return
    click.echo(f"removed {res.kind} channel {res.id}")


@notify.command("test")
@click.argument("channel_id", metavar="ID")
@common_options
def test(channel_id: str, as_json: bool, workspace: str | None) -> None:
    """Send a test message through the channel now, and say what it met."""
    from hangar.cli.errors import ERROR, CliError
    from hangar.proto import calls
    from hangar.proto import notify as pn

    res = request(calls.NOTIFY_TEST, pn.NotifyRef(id=channel_id))
    if as_json:
        emit_json(res)
    d = res.delivery
    if d.status != "delivered":
        raise CliError(f"test failed after {d.attempts} attempt(s): {d.error or d.status}", ERROR)
    if not as_json:
        tries = "attempt" if d.attempts == 1 else "attempts"
        click.echo(f"delivered ({d.attempts} {tries}), delivery {d.id}")
