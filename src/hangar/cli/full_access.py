"""The full-access warning, said by the commands that queue work for an agent.

Before the first run ever, and the first run of each provider, the command says on stderr
that agents run with full access to the user's files and the network; then it is
acknowledged (``<home>/state.toml``) and not said again until ``hangar config warnings
reset``. It never asks anything, so a script is never blocked. Commands import this inside
their bodies: ``hangar issue list`` never loads it.
"""

from __future__ import annotations

import click

from hangar.core import full_access
from hangar.core.provider_keys import PROVIDER_KEYS

__all__ = ["warn", "warn_for_agent"]

#: every provider an agent may have (``command`` too: it runs whatever it is given)
_PROVIDERS = (*PROVIDER_KEYS, "command")


def warn(provider: str | None) -> None:
    """Say the warning a run of ``provider`` still needs (once), on stderr."""
    from hangar.adapters import acks
    from hangar.core.paths import HangarPaths

    text = acks.take(HangarPaths.from_env(), provider)
    if text is not None:
        _say(text)


def warn_for_agent(workspace: str | None, agent: str) -> None:
    """``warn`` for the provider of ``agent`` (name or id): its row is asked for only while
    some acknowledgement is still missing."""
    from hangar.adapters import acks
    from hangar.core.paths import HangarPaths

    have = acks.acknowledged(HangarPaths.from_env())
    if not any(full_access.due(have, p) for p in _PROVIDERS):
        return
    from hangar.cli.common import request
    from hangar.cli.errors import CliError
    from hangar.proto import api, calls

    try:
        row = request(calls.AGENT_GET, api.AgentGetParams(workspace_id=workspace, agent=agent))
    except CliError:  # the work is queued; the warning must not turn that into a failure
        provider = None
    else:
        provider = row.provider
    warn(provider)


def _say(text: str) -> None:
    lines = text.splitlines()
    click.echo(click.style("warning: ", fg="yellow", bold=True) + lines[0], err=True)
    for line in lines[1:]:
        click.echo(f"  {line}", err=True)
