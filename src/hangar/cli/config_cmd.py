"""hangar config show | set KEY VALUE | unset KEY | env.allow list|add|remove | warnings reset

The daemon answers ``show``, ``set`` and ``env.allow`` (they need an ``admin`` token): it
knows the settings it runs with and where each came from, and it applies a changed
allowlist to the next agent it starts. The full-access warnings' acknowledgements are this
user's, in ``<home>/state.toml``, and are reset here.
"""

from __future__ import annotations

import os

import click

from hangar.cli.common import common_options, emit_json, request, table
from hangar.proto import api, calls
from hangar.proto import settings as st

#: ``config set`` keys whose value is a path: made absolute here, where the user is
_PATH_KEYS = ("beads.dir",)


@click.group()
def config() -> None:
    """Settings: what the daemon runs with, the env allowlist, the full-access warnings."""


@config.command()
@common_options
def show(as_json: bool, workspace: str | None) -> None:
    """Every setting, its value, and where it came from (default, file, environment)."""
    res = request(calls.CONFIG_SHOW, api.Empty())
    rows = [*res.settings, _acks_row()]
    if as_json:
        emit_json(rows)
        return
    table(
        [(s.key, s.value, _source(s)) for s in rows],
        ["KEY", "VALUE", "SOURCE"],
    )


def _source(s: st.Setting) -> str:
    if s.source == "default":
        return "default"
    return f"{s.source} ({s.origin})" if s.origin else s.source


def _acks_row() -> st.Setting:
    from hangar.adapters import acks
    from hangar.core.paths import HangarPaths

    paths = HangarPaths.from_env()
    have = sorted(acks.acknowledged(paths))
    return st.Setting(
        key="warnings.acked",
        value=", ".join(have) if have else "(none: the full-access warning is still due)",
        source="file" if have else "default",
        origin=str(acks.state_path(paths)),
        about="full-access warnings already shown (hangar config warnings reset)",
    )


@config.command("set")
@click.argument("key")
@click.argument("value")
@common_options
def set_(key: str, value: str, as_json: bool, workspace: str | None) -> None:
    """Write KEY in <home>/config.toml (settable: beads.dir)."""
    if key in _PATH_KEYS and value:
        value = os.path.abspath(os.path.expanduser(value))
    row = request(calls.CONFIG_SET, st.ConfigSetParams(key=key, value=value))
    if as_json:
        emit_json(row)
        return
    click.echo(f"{row.key} = {row.value}  ({_source(row)})")


@config.command("unset")
@click.argument("key")
@common_options
def unset(key: str, as_json: bool, workspace: str | None) -> None:
    """Remove KEY from <home>/config.toml: back to its default."""
    row = request(calls.CONFIG_SET, st.ConfigSetParams(key=key, value=""))
    if as_json:
        emit_json(row)
        return
    click.echo(f"{row.key} = {row.value}  ({_source(row)})")


# -- the env allowlist -----------------------------------------------------------------------


@config.group("env.allow")
def env_allow() -> None:
    """Which variables of the daemon's environment agents and plugins see.

    Entries are names or prefix globs (LC_*); the deny family (LD_PRELOAD, PYTHONPATH, …)
    never passes and cannot be added. Kept in <home>/env.allow.toml; the daemon applies a
    change to the next agent it starts.
    """


@env_allow.command("list")
@common_options
def allow_list(as_json: bool, workspace: str | None) -> None:
    """The allow entries, then the deny family marked [deny-locked]."""
    _print_allow(request(calls.ENV_ALLOW_LIST, api.Empty()), as_json)


@env_allow.command("add")
@click.argument("key")
@common_options
def allow_add(key: str, as_json: bool, workspace: str | None) -> None:
    """Let KEY (a name, or a prefix glob like MY_*) through to agents and plugins."""
    _print_allow(request(calls.ENV_ALLOW_ADD, st.EnvAllowKeyParams(key=key)), as_json)


@env_allow.command("remove")
@click.argument("key")
@common_options
def allow_remove(key: str, as_json: bool, workspace: str | None) -> None:
    """Stop letting KEY through."""
    _print_allow(request(calls.ENV_ALLOW_REMOVE, st.EnvAllowKeyParams(key=key)), as_json)


def _print_allow(res: st.EnvAllowResult, as_json: bool) -> None:
    if as_json:
        emit_json(res)
        return
    for key in res.allow:
        click.echo(key)
    for key in res.deny:
        click.echo(f"{key} [deny-locked]")
    where = res.path if res.source == "file" else f"the defaults ({res.path} absent)"
    if res.changed:
        click.echo(
            f"{res.changed} in {res.path}: agents the daemon starts from now on get it "
            "(running ones keep their environment; plugins on their next start)",
            err=True,
        )
    else:
        click.echo(f"from {where}", err=True)


# -- the full-access warnings ----------------------------------------------------------------


@config.group("warnings")
def warnings_() -> None:
    """The full-access warning shown before the first run (and each provider's first)."""


@warnings_.command("reset")
@click.option("--provider", metavar="P", help="Only this provider's (claude, codex, …).")
@common_options
def reset(provider: str | None, as_json: bool, workspace: str | None) -> None:
    """Show the full-access warnings again: all of them, or one provider's."""
    from hangar.adapters import acks, tomlfile
    from hangar.cli.errors import CliError
    from hangar.core.paths import HangarPaths

    try:
        gone = acks.reset(HangarPaths.from_env(), provider)
    except (OSError, tomlfile.TomlFileError) as exc:
        raise CliError(f"cannot reset the warnings: {exc}") from None
    if as_json:
        emit_json({"reset": gone})
        return
    if gone:
        click.echo(f"reset {', '.join(gone)}: the warning shows again before the next run")
    else:
        click.echo(
            "nothing to reset: the warning has not been shown"
            + (f" for {provider}" if provider else "")
        )
