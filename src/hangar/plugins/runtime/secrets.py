"""Read-only secrets for ``host/secret_store_get``: there is no write path.

Backends, first hit wins: the environment (``AINB_SECRET_<SCOPE>_<KEY>``, upper-cased, every
non-alphanumeric → ``_``), then ``<data home>/secrets.toml`` (one table per scope), which is
refused (-32006) unless only its owner can read it. A miss everywhere is -32004.
Secret values are never logged, and never put in an error message.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from hangar.proto.jsonrpc import SECRET_BACKEND_LOCKED, SECRET_NOT_FOUND, RpcError

__all__ = [
    "ENV_PREFIX",
    "ChainStore",
    "EnvStore",
    "FileStore",
    "MemoryStore",
    "SecretStore",
    "default_store",
    "env_name",
]

ENV_PREFIX = "AINB_SECRET_"
_NON_ALNUM = re.compile(r"[^A-Z0-9]")


def env_name(scope: str, key: str) -> str:
    return ENV_PREFIX + _NON_ALNUM.sub("_", f"{scope}_{key}".upper())


class SecretStore(Protocol):
    def get(self, scope: str, key: str) -> str | None:
        """The value, or None when this backend does not hold it; RpcError when locked."""
        ...


class MemoryStore:
    """For tests: ``{(scope, key): value}``."""

    def __init__(self, values: Mapping[tuple[str, str], str] | None = None) -> None:
        self._values = dict(values or {})

    def get(self, scope: str, key: str) -> str | None:
        return self._values.get((scope, key))


class EnvStore:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def get(self, scope: str, key: str) -> str | None:
        return self._env.get(env_name(scope, key))


class FileStore:
    """``[<scope>] <key> = "value"`` in a TOML file only its owner may read (0600)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, scope: str, key: str) -> str | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise RpcError(
                SECRET_BACKEND_LOCKED, f"cannot open {self.path}: {exc.strerror or exc}"
            ) from None
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            mode = stat.S_IMODE(st.st_mode)
            if not stat.S_ISREG(st.st_mode):
                raise RpcError(SECRET_BACKEND_LOCKED, f"{self.path} is not a regular file")
            if mode & 0o077 or st.st_uid != os.getuid():
                raise RpcError(
                    SECRET_BACKEND_LOCKED,
                    f"refusing to read {self.path}: mode {mode:04o} (owner uid {st.st_uid});"
                    f" it must be 0600 and yours: chmod 600 {self.path}",
                )
            try:
                doc = tomllib.load(fh)
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                # tomllib names the position, never the text: no value leaks
                raise RpcError(
                    SECRET_BACKEND_LOCKED, f"{self.path} is not valid TOML: {exc}"
                ) from None
        table = doc.get(scope)
        value = table.get(key) if isinstance(table, dict) else None
        return value if isinstance(value, str) else None


class ChainStore:
    def __init__(self, stores: Sequence[SecretStore]) -> None:
        self.stores = list(stores)

    def get(self, scope: str, key: str) -> str | None:
        for store in self.stores:
            value = store.get(scope, key)
            if value is not None:
                return value
        return None

    def require(self, scope: str, key: str) -> str:
        value = self.get(scope, key)
        if value is None:
            raise RpcError(SECRET_NOT_FOUND, f"secret not found: {scope}/{key}")
        return value


def default_store(env: Mapping[str, str], data_home: Path) -> ChainStore:
    """Environment first, then ``<data home>/secrets.toml``."""
    return ChainStore([EnvStore(env), FileStore(data_home / "secrets.toml")])
