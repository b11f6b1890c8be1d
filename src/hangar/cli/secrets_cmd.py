"""hangar secrets set NAME | list | delete NAME

Agents' API keys, kept by the daemon in the OS keychain (or a 0600 file where the machine
has none). A value is read from a hidden prompt or from stdin, never from the command line
(``ps`` and the shell's history would show it), and is never printed.
"""

from __future__ import annotations

import sys

import click

from hangar.cli.common import common_options, emit_json, request, table, usage_error
from hangar.core.provider_keys import PROVIDER_KEYS, provider_of_key, validate_secret_name
from hangar.proto import api, calls
from hangar.proto import settings as st


@click.group()
def secrets() -> None:
    """Agents' API keys (ANTHROPIC_API_KEY, OPENAI_API_KEY, …), kept in the OS keychain.

    At spawn each agent gets its provider's key from here, over any key in the daemon's
    environment: claude ANTHROPIC_API_KEY; codex OPENAI_API_KEY and CODEX_API_KEY; gemini
    GEMINI_API_KEY. Without a keychain (a headless Linux box) they live in a 0600 file in
    the data home; `hangar config show` says which.
    """


@secrets.command("set", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("name")
@common_options
@click.pass_context
def set_(ctx: click.Context, name: str, as_json: bool, workspace: str | None) -> None:
    """Store the secret NAME: typed at a hidden prompt, or piped on stdin
    (`pass show anthropic | hangar secrets set ANTHROPIC_API_KEY`)."""
    if ctx.args:  # never echo them: one is probably the secret
        raise usage_error(
            "the value is never taken from the command line (ps and your shell history "
            "would show it): type it at the prompt or pipe it on stdin"
        )
    try:
        validate_secret_name(name)
    except ValueError as exc:
        raise usage_error(str(exc)) from None
    value = _read_value(name)
    res = request(calls.SECRET_SET, st.SecretSetParams(name=name, value=value))
    if as_json:
        emit_json(res)
        return
    verb = "replaced" if res.replaced else "stored"
    click.echo(f"{verb} {res.name} in {res.backend}")
    if res.providers:
        click.echo(f"{' and '.join(res.providers)} agents get it from their next run")
    else:
        known = ", ".join(k for keys in PROVIDER_KEYS.values() for k in keys)
        click.echo(
            f"no agent is given {res.name} (agents get their provider's key: {known}); "
            "a plugin granted secrets:read for it may read it from scope 'hangar'",
            err=True,
        )


def _read_value(name: str) -> str:
    if sys.stdin.isatty():
        value: str = click.prompt(f"{name} (input hidden)", hide_input=True, err=True)
    else:
        value = sys.stdin.read()
        if value.endswith("\n"):  # what `echo` and most password managers add
            value = value[:-1].removesuffix("\r")
    if not value:
        raise usage_error(f"no value given for {name}")
    return value


@secrets.command("list")
@common_options
def list_(as_json: bool, workspace: str | None) -> None:
    """The names of the stored secrets (never their values), and where they are kept."""
    res = request(calls.SECRETS_LIST, api.Empty())
    if as_json:
        emit_json(res)
        return
    click.echo(f"kept in {res.backend}", err=True)
    if not res.names:
        click.echo("no secrets stored (hangar secrets set ANTHROPIC_API_KEY)", err=True)
        return
    table(
        [(n, provider_of_key(n) or "-") for n in res.names],
        ["NAME", "GIVEN TO"],
    )


@secrets.command("delete")
@click.argument("name")
@common_options
def delete(name: str, as_json: bool, workspace: str | None) -> None:
    """Delete the secret NAME."""
    try:
        validate_secret_name(name)
    except ValueError as exc:
        raise usage_error(str(exc)) from None
    res = request(calls.SECRET_DELETE, st.SecretNameParams(name=name))
    if as_json:
        emit_json(res)
        return
    click.echo(f"deleted {res.name} from {res.backend}")
