"""Stored secrets' names, and which ones an agent of each provider is given at spawn.

See docs/agents.md#secrets. Pure: the store itself is ``hangar.adapters.secrets``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from hangar.core.env_policy import deny_family_of
from hangar.core.vocab import MAX_SECRET_BYTES, MAX_SECRET_NAME

__all__ = [
    "HANGAR_SCOPE",
    "MAX_SECRET_BYTES",
    "MAX_SECRET_NAME",
    "PROVIDER_KEYS",
    "keys_for",
    "provider_of_key",
    "validate_secret_name",
    "validate_secret_value",
]

#: the scope (a keychain service, a table of the fallback file) the agents' keys live in;
#: plugins name their own scopes (``host/secret_store_get {scope, key}``)
HANGAR_SCOPE = "hangar"

#: provider → the variables its CLI reads its API key from, injected from the store at spawn
PROVIDER_KEYS: Mapping[str, tuple[str, ...]] = {
    "claude": ("ANTHROPIC_API_KEY",),
    "codex": ("OPENAI_API_KEY", "CODEX_API_KEY"),
    "gemini": ("GEMINI_API_KEY",),
}


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def keys_for(provider: str | None) -> tuple[str, ...]:
    """The stored keys an agent of ``provider`` gets (none for ``command`` or unknown)."""
    return PROVIDER_KEYS.get(provider or "", ())


def provider_of_key(name: str) -> str | None:
    """The provider whose agents get ``name``, or None when no agent is given it."""
    for provider, names in PROVIDER_KEYS.items():
        if name in names:
            return provider
    return None


def validate_secret_name(name: str) -> str:
    """A secret's name is an environment variable's name (it is injected as one), outside
    the deny family (nothing there ever reaches an agent). ``ValueError`` says why not."""
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise ValueError(
            f"invalid secret name {name!r}: use an environment variable name (letters, digits "
            "and '_', not starting with a digit), e.g. ANTHROPIC_API_KEY"
        )
    if len(name) > MAX_SECRET_NAME:
        raise ValueError(f"secret name is longer than {MAX_SECRET_NAME} characters")
    family = deny_family_of(name)
    if family is not None:
        raise ValueError(
            f"secret name {name!r} is in the deny family {family.name!r}: "
            "it never reaches an agent, so it cannot be stored as one's secret"
        )
    return name


def validate_secret_value(value: str) -> str:
    """What an environment variable can hold: not empty, no NUL, at most 64 KiB. The message
    never quotes the value."""
    if not value:
        raise ValueError("the secret is empty")
    if "\x00" in value:
        raise ValueError("the secret contains a NUL byte, which no environment variable can hold")
    if len(value.encode()) > MAX_SECRET_BYTES:
        raise ValueError(f"the secret is longer than {MAX_SECRET_BYTES // 1024} KiB")
    return value
