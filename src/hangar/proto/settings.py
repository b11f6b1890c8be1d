"""Secrets and settings on the wire: the params and results of ``hangar/secret*`` and
``hangar/config_*`` (docs/agents.md#secrets, docs/agents.md#settings). Every one of these
methods needs the ``admin`` scope. A secret's value travels only in ``SecretSetParams``,
over the private socket, and never comes back."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from hangar.core.vocab import MAX_SECRET_BYTES, MAX_SECRET_NAME
from hangar.proto.api import Params, Result

__all__ = [
    "ConfigSetParams",
    "ConfigShowResult",
    "EnvAllowKeyParams",
    "EnvAllowResult",
    "SecretDeleteResult",
    "SecretNameParams",
    "SecretSetParams",
    "SecretSetResult",
    "SecretsListResult",
    "Setting",
    "SettingSource",
]

#: checked for real by the daemon (a variable name outside the deny family)
SecretName = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_SECRET_NAME)]
#: UTF-8 bytes are checked by the daemon; characters bound the frame here
SecretValue = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_SECRET_BYTES)]
AllowEntry = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
SettingKey = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
SettingValue = Annotated[str, msgspec.Meta(max_length=4096)]
#: where a setting's value comes from
SettingSource = Literal["default", "file", "environment"]


class SecretNameParams(Params, kw_only=True):
    name: SecretName


class SecretSetParams(Params, kw_only=True):
    name: SecretName
    value: SecretValue


class SecretSetResult(Result, kw_only=True):
    name: str
    #: the store that holds it now (``keyring: …`` or ``file: …``)
    backend: str
    #: it replaced a value stored before
    replaced: bool = False
    #: the providers whose agents get it at spawn (empty: no agent is given it)
    providers: list[str] = msgspec.field(default_factory=list)


class SecretDeleteResult(Result, kw_only=True):
    name: str
    backend: str


class SecretsListResult(Result, kw_only=True):
    backend: str
    #: names only, sorted; values never leave the daemon
    names: list[str]


class EnvAllowKeyParams(Params, kw_only=True):
    key: AllowEntry


class EnvAllowResult(Result, kw_only=True):
    """The allowlist in force for agents spawned from now on."""

    allow: list[str]
    #: the deny family's patterns: never passed, whatever ``allow`` says
    deny: list[str]
    #: ``<home>/env.allow.toml``
    path: str
    source: SettingSource
    #: what the call changed, in words (empty for a plain read)
    changed: str = ""


class Setting(Result, kw_only=True):
    key: str
    value: str
    source: SettingSource
    #: the environment variable or file that sets it
    origin: str = ""
    #: what it does, in a few words
    about: str = ""


class ConfigShowResult(Result, kw_only=True):
    settings: list[Setting]


class ConfigSetParams(Params, kw_only=True):
    key: SettingKey
    #: the new value; empty: unset (back to the default)
    value: SettingValue
