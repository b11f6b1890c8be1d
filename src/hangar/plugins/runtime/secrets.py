"""Read-only secrets for ``host/secret_store_get``, through the one secret store.

The store is ``hangar.adapters.secrets``, the one the daemon injects agents' API keys from
(docs/agents.md#secrets); a plugin's ``{scope, key}`` is the store's ``(scope, name)``.
Backends, first hit wins:

1. the environment: ``AINB_SECRET_<SCOPE>_<KEY>``, upper-cased, every non-alphanumeric → ``_``;
2. the keychain, when the machine has one (``keyring``: service ``hangar:<scope>``, or
   ``hangar`` for scope ``hangar``, where ``hangar secrets set`` keeps agents' keys);
3. ``<data home>/secrets.toml`` (one table per scope), refused (-32006) unless only its
   owner can read it.

A miss everywhere is -32004. There is no write path for plugins. Secret values are never
logged, and never put in an error message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from hangar.adapters.secrets import (
    BACKEND_ENV,
    SECRETS_FILE,
    FileStore,
    KeyringStore,
    LazyStore,
    MemoryStore,
    SecretBackendLocked,
    SecretStore,
    SecretStoreError,
    open_store,
)
from hangar.core.provider_keys import HANGAR_SCOPE
from hangar.proto.jsonrpc import SECRET_BACKEND_LOCKED, SECRET_NOT_FOUND, RpcError

__all__ = [
    "ENV_PREFIX",
    "ChainStore",
    "EnvStore",
    "FileStore",
    "KeychainStore",
    "MemoryStore",
    "SecretStore",
    "default_store",
    "env_name",
]

ENV_PREFIX = "AINB_SECRET_"
_NON_ALNUM = re.compile(r"[^A-Z0-9]")


def env_name(scope: str, key: str) -> str:
    return ENV_PREFIX + _NON_ALNUM.sub("_", f"{scope}_{key}".upper())


class EnvStore:
    """``AINB_SECRET_<SCOPE>_<KEY>`` in the host's environment; read-only."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def describe(self) -> str:
        return f"environment: {ENV_PREFIX}*"

    def get(self, name: str, *, scope: str = HANGAR_SCOPE) -> str | None:
        return self._env.get(env_name(scope, name))

    def set(self, name: str, value: str, *, scope: str = HANGAR_SCOPE) -> None:
        raise SecretStoreError("the environment is read-only")

    def delete(self, name: str, *, scope: str = HANGAR_SCOPE) -> bool:
        raise SecretStoreError("the environment is read-only")

    def list_names(self, *, scope: str = HANGAR_SCOPE) -> list[str]:
        prefix = env_name(scope, "")
        return sorted(k[len(prefix) :] for k in self._env if k.startswith(prefix))


class KeychainStore(LazyStore):
    """The store the daemon would pick, when it is the keychain; nothing otherwise (the
    file comes last in the chain anyway). Chosen on the first secret asked for: importing
    ``keyring`` is not free, and most plugins never ask."""

    def __init__(self, data_home: Path, mode: str) -> None:
        super().__init__(lambda: open_store(data_home, mode))

    def get(self, name: str, *, scope: str = HANGAR_SCOPE) -> str | None:
        store = self.store
        return store.get(name, scope=scope) if isinstance(store, KeyringStore) else None


class ChainStore:
    """Backends in order; the plugin runtime's view: ``get(scope, key)``, errors as the
    plugin protocol's codes."""

    def __init__(self, stores: Sequence[SecretStore]) -> None:
        self.stores = list(stores)

    def get(self, scope: str, key: str) -> str | None:
        for store in self.stores:
            try:
                value = store.get(key, scope=scope)
            except SecretBackendLocked as exc:
                raise RpcError(SECRET_BACKEND_LOCKED, str(exc)) from None
            except SecretStoreError as exc:
                raise RpcError(SECRET_BACKEND_LOCKED, f"secret store unavailable: {exc}") from None
            if value is not None:
                return value
        return None

    def require(self, scope: str, key: str) -> str:
        value = self.get(scope, key)
        if value is None:
            raise RpcError(SECRET_NOT_FOUND, f"secret not found: {scope}/{key}")
        return value


def default_store(env: Mapping[str, str], data_home: Path) -> ChainStore:
    """The environment, then the keychain (if the machine has one), then
    ``<data home>/secrets.toml``."""
    mode = env.get(BACKEND_ENV) or "auto"
    stores: list[SecretStore] = [EnvStore(env)]
    if mode != "file":
        stores.append(KeychainStore(data_home, mode))
    stores.append(FileStore(data_home / SECRETS_FILE))
    return ChainStore(stores)
