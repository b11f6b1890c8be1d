"""The full-access warning: agents run as the user, with every file and the network.

Shown once before the first run ever, and once before the first run of each provider, by
the front end that queued the work; the acknowledgements live in ``<home>/state.toml``
``[warnings_ack]`` (``hangar.adapters.acks``). Pure: which acks are due, what to say, what a
reset keeps. See docs/agents.md#the-full-access-warning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = [
    "ACK_SECTION",
    "FIRST_RUN",
    "due",
    "provider_ack",
    "reset",
    "warning_text",
]

#: the table of ``state.toml`` that holds the acknowledgements (key → when, ISO 8601)
ACK_SECTION = "warnings_ack"
FIRST_RUN = "first_run"
#: what an agent whose provider is not known is counted as
UNKNOWN_PROVIDER = "agent"


def provider_ack(provider: str) -> str:
    return f"provider:{provider}"


def due(acks: Iterable[str], provider: str | None) -> list[str]:
    """The acknowledgements a run of ``provider`` still needs, in order."""
    have = set(acks)
    wanted = [FIRST_RUN, provider_ack(provider or UNKNOWN_PROVIDER)]
    return [key for key in wanted if key not in have]


def reset(acks: Mapping[str, str], provider: str | None = None) -> dict[str, str]:
    """The acknowledgements kept by ``config warnings reset``: none, or with ``provider``
    all but that provider's (``provider:<p>`` and its per-session forms)."""
    if provider is None:
        return {}
    mine = provider_ack(provider)
    return {k: v for k, v in acks.items() if k != mine and not k.startswith(mine + ":")}


def warning_text(provider: str | None, keys: Iterable[str]) -> str:
    """The one warning for the due ``keys`` (from ``due``), as a few lines of plain text."""
    keys = list(keys)
    who = provider or "the agent"
    if FIRST_RUN in keys:
        head = (
            f"Agents run with full access: {who} runs as you, outside any sandbox. "
            "It can read, change and delete every file you can, run any command and reach "
            "the network; its git worktree is a place to work, not a jail."
        )
    else:
        head = (
            f"First run of {who}: like every agent it runs as you with full access to your "
            "files and the network, outside any sandbox."
        )
    return (
        f"{head}\nAssign work only to agents you trust, and read what they did "
        "(`hangar task log TASK_ID`).\n"
        "Shown once per provider; `hangar config warnings reset` shows it again."
    )
