"""hangar auth token create | list | revoke"""

from __future__ import annotations

import click

from hangar.cli.common import common_options, emit_json, fmt_time, request, table, usage_error
from hangar.proto import api, calls
from hangar.proto.auth import TokenCreateParams, TokenRevokeParams, TokenRow
from hangar.proto.scopes import SCOPES

_EXPIRES_HELP = "a duration (90m, 12h, 30d) or a date (2030-01-31, 2030-01-31T18:00)"


@click.group()
def auth() -> None:
    """Personal tokens: give a browser tab, a script or an orchestrating agent less than
    full power over this daemon.

    \b
    A token's scope says what it may call:
      read   lists, shows, logs, subscribe, health
      write  also files and changes work (issues, tasks, agents, sessions, autopilots, skills)
      admin  also manages tokens, secrets, config and the daemon
    Use one with HANGAR_TOKEN=ainb_… (any hangar command), `hangar mcp --token`, or
    `ainb serve --token`. Without one, clients use the daemon's own token file (admin).
    """


@auth.group()
def token() -> None:
    """Create, list and revoke personal tokens (ainb_…)."""


@token.command()
@click.option("--name", required=True, help="What the token is for (shown by `list`).")
@click.option(
    "--scope",
    type=click.Choice(SCOPES),
    default="read",
    show_default=True,
    help="What it may call.",
)
@click.option("--expires", metavar="WHEN", help=f"When it stops working: {_EXPIRES_HELP}.")
@common_options
def create(
    name: str, scope: str, expires: str | None, as_json: bool, workspace: str | None
) -> None:
    """Make a token. It is printed once, on stdout; only its SHA-256 is kept."""
    expires_in_ms, expires_at = _expiry(expires)
    made = request(
        calls.TOKEN_CREATE,
        TokenCreateParams(
            name=name,
            scope=scope,  # type: ignore[arg-type]  # click.Choice checked it
            expires_in_ms=expires_in_ms,
            expires_at=expires_at,
        ),
    )
    if as_json:
        emit_json(made)
        return
    row = made.token
    expiry = f", expires {fmt_time(row.expires_at)}" if row.expires_at else ""
    click.echo(f"created token {row.id} {row.name!r} (scope {row.scope}{expiry})", err=True)
    click.echo(made.plaintext)
    click.echo("This is the only time it is shown: keep it somewhere safe.", err=True)


@token.command("list")
@common_options
def list_(as_json: bool, workspace: str | None) -> None:
    """Every token, newest first; never their plaintext."""
    rows = request(calls.TOKENS_LIST, api.Empty()).tokens
    if as_json:
        emit_json(rows)
        return
    table(
        [
            (
                r.id,
                r.name,
                r.scope,
                _state(r),
                fmt_time(r.created_at),
                fmt_time(r.last_used),
                fmt_time(r.expires_at),
                fmt_time(r.revoked_at),
            )
            for r in rows
        ],
        ["ID", "NAME", "SCOPE", "STATE", "CREATED", "LAST USED", "EXPIRES", "REVOKED"],
    )


@token.command()
@click.argument("token_id", metavar="ID")
@common_options
def revoke(token_id: str, as_json: bool, workspace: str | None) -> None:
    """Revoke token ID: refused from now on, also on connections already open."""
    row = request(calls.TOKEN_REVOKE, TokenRevokeParams(token_id=token_id))
    if as_json:
        emit_json(row)
    else:
        click.echo(f"revoked token {row.id} {row.name!r}")


def _state(row: TokenRow) -> str:
    import time

    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= time.time() * 1000:
        return "expired"
    return "active"


def _expiry(text: str | None) -> tuple[int | None, int | None]:
    """(expires_in_ms, expires_at) from --expires; the daemon refuses a moment already past."""
    if text is None:
        return None, None
    from hangar.core.durations import parse_duration

    try:
        return parse_duration(text), None
    except ValueError as exc:
        why = str(exc)
    import datetime as dt

    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise usage_error(f"--expires {text!r}: {why}; or give a date (2030-01-31)") from None
    return None, max(1, int(moment.timestamp() * 1000))
