"""The secret store: one small port, and its backends.

Agents' API keys (``hangar secrets set``, injected at spawn) and plugins' secrets
(``host/secret_store_get``) are read through this one port; a secret is a ``(scope, name)``
pair, the agents' keys in scope ``hangar`` (docs/agents.md#secrets).

- ``KeyringStore``: the OS keychain through the ``keyring`` library (Secret Service on
  Linux, the macOS Keychain, …): service ``hangar`` (``hangar:<scope>`` for other scopes),
  username = the secret's name. The keychain cannot list what it holds, so the names are
  kept in one more entry of the service (``.names``); listing checks each one is still there.
- ``FileStore``: ``<data home>/secrets.toml``, one table per scope, used when the machine has
  no keychain (a headless Linux box): written atomically with mode 0600, and refused when it
  is readable by anyone else or not the user's own.
- ``MemoryStore``: for tests.

``open_store`` picks the backend (``HANGAR_SECRETS_BACKEND``: ``auto``, ``keyring`` or
``file``); ``LazyStore`` defers that choice to the first use, because importing ``keyring``
and asking which backend works costs a few hundred milliseconds.

A secret's value is never logged and never put in an error message.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from hangar.adapters.files import private_dir, write_private
from hangar.adapters.tomlfile import TomlFileError, edit_text, locked
from hangar.core.provider_keys import HANGAR_SCOPE

__all__ = [
    "BACKEND_ENV",
    "BACKEND_MODES",
    "SECRETS_FILE",
    "FileStore",
    "KeyringStore",
    "LazyStore",
    "MemoryStore",
    "SecretBackendLocked",
    "SecretStore",
    "SecretStoreError",
    "keyring_usable",
    "open_store",
]

#: the setting that chooses the backend
BACKEND_ENV = "HANGAR_SECRETS_BACKEND"
BACKEND_MODES = ("auto", "keyring", "file")
#: the fallback file's name under the data home (also where plugins' secrets were kept)
SECRETS_FILE = "secrets.toml"
#: the keychain entry that lists the names of a service (not a variable name: no clash)
_INDEX = ".names"


class SecretStoreError(Exception):
    """The store cannot do what was asked (no backend, a read-only one); says why."""


class SecretBackendLocked(SecretStoreError):
    """The store exists but may not be read: a file others can read, a locked keychain."""


class SecretStore(Protocol):
    def describe(self) -> str:
        """Which backend, for ``config show``: ``keyring: …``, ``file: <path> …``."""
        ...

    def get(self, name: str, *, scope: str = HANGAR_SCOPE) -> str | None:
        """The value, or None when the store does not hold it."""
        ...

    def set(self, name: str, value: str, *, scope: str = HANGAR_SCOPE) -> None: ...

    def delete(self, name: str, *, scope: str = HANGAR_SCOPE) -> bool:
        """Whether there was something to delete."""
        ...

    def list_names(self, *, scope: str = HANGAR_SCOPE) -> list[str]:
        """The names held in ``scope``, sorted; never the values."""
        ...


class MemoryStore:
    """For tests: ``{(scope, name): value}``."""

    def __init__(self, values: Mapping[tuple[str, str], str] | None = None) -> None:
        self._values = dict(values or {})

    def describe(self) -> str:
        return "memory (tests)"

    def get(self, name: str, *, scope: str = HANGAR_SCOPE) -> str | None:
        return self._values.get((scope, name))

    def set(self, name: str, value: str, *, scope: str = HANGAR_SCOPE) -> None:
        self._values[(scope, name)] = value

    def delete(self, name: str, *, scope: str = HANGAR_SCOPE) -> bool:
        return self._values.pop((scope, name), None) is not None

    def list_names(self, *, scope: str = HANGAR_SCOPE) -> list[str]:
        return sorted(n for s, n in self._values if s == scope)


class FileStore:
    """``[<scope>] <name> = "value"`` in a TOML file only its owner may read (0600)."""

    def __init__(self, path: Path, *, note: str = "") -> None:
        self.path = path
        self.note = note
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"file: {self.path}{self.note}"

    def get(self, name: str, *, scope: str = HANGAR_SCOPE) -> str | None:
        table = self._load().get(scope)
        value = table.get(name) if isinstance(table, dict) else None
        return value if isinstance(value, str) else None

    def set(self, name: str, value: str, *, scope: str = HANGAR_SCOPE) -> None:
        self._edit(scope, name, value)

    def delete(self, name: str, *, scope: str = HANGAR_SCOPE) -> bool:
        if self.get(name, scope=scope) is None:
            return False
        self._edit(scope, name, None)
        return True

    def list_names(self, *, scope: str = HANGAR_SCOPE) -> list[str]:
        table = self._load().get(scope)
        if not isinstance(table, dict):
            return []
        return sorted(k for k, v in table.items() if isinstance(v, str))

    def _edit(self, scope: str, name: str, value: str | None) -> None:
        private_dir(self.path.parent)
        with self._lock, locked(self.path):
            text = self._read_text() or ""
            try:
                new = edit_text(text, scope, {name: value})
            except TomlFileError as exc:  # tomllib names the position, never the text
                raise SecretBackendLocked(f"{self.path} is not valid TOML: {exc}") from None
            write_private(self.path, new, mode=0o600)

    def _load(self) -> dict[str, Any]:
        text = self._read_text()
        if text is None:
            return {}
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SecretBackendLocked(f"{self.path} is not valid TOML: {exc}") from None

    def _read_text(self) -> str | None:
        """The file's text, None when it does not exist; refused unless it is a regular
        file of this user that nobody else can read or write."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SecretBackendLocked(f"cannot open {self.path}: {exc.strerror or exc}") from None
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            mode = stat.S_IMODE(st.st_mode)
            if not stat.S_ISREG(st.st_mode):
                raise SecretBackendLocked(f"{self.path} is not a regular file")
            if mode & 0o077 or st.st_uid != os.getuid():
                raise SecretBackendLocked(
                    f"refusing to read {self.path}: mode {mode:04o} (owner uid {st.st_uid});"
                    f" it must be 0600 and yours: chmod 600 {self.path}"
                )
            try:
                return fh.read().decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SecretBackendLocked(f"{self.path} is not UTF-8: {exc.reason}") from None


class KeyringStore:
    """The OS keychain through ``keyring``; ``backend``: a ``keyring.backend.KeyringBackend``
    (default: the one ``keyring`` picks for this machine)."""

    def __init__(self, backend: Any = None) -> None:
        if backend is None:
            import keyring

            backend = keyring.get_keyring()
        self.backend = backend
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"keyring: {self.backend.name}"

    @staticmethod
    def service(scope: str) -> str:
        return HANGAR_SCOPE if scope == HANGAR_SCOPE else f"{HANGAR_SCOPE}:{scope}"

    def get(self, name: str, *, scope: str = HANGAR_SCOPE) -> str | None:
        value = self._call(self.backend.get_password, self.service(scope), name)
        return value if isinstance(value, str) else None

    def set(self, name: str, value: str, *, scope: str = HANGAR_SCOPE) -> None:
        with self._lock:
            self._call(self.backend.set_password, self.service(scope), name, value)
            names = self._index(scope)
            if name not in names:
                self._write_index(scope, [*names, name])

    def delete(self, name: str, *, scope: str = HANGAR_SCOPE) -> bool:
        from keyring.errors import PasswordDeleteError

        with self._lock:
            had = self.get(name, scope=scope) is not None
            if had:
                try:
                    self._call(self.backend.delete_password, self.service(scope), name)
                except SecretStoreError as exc:
                    if not isinstance(exc.__cause__, PasswordDeleteError):
                        raise
            names = self._index(scope)
            if name in names:
                self._write_index(scope, [n for n in names if n != name])
            return had

    def list_names(self, *, scope: str = HANGAR_SCOPE) -> list[str]:
        return sorted(n for n in self._index(scope) if self.get(n, scope=scope) is not None)

    def _index(self, scope: str) -> list[str]:
        raw = self._call(self.backend.get_password, self.service(scope), _INDEX)
        try:
            names = json.loads(raw) if raw else []
        except ValueError:
            return []
        return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []

    def _write_index(self, scope: str, names: list[str]) -> None:
        self._call(self.backend.set_password, self.service(scope), _INDEX, json.dumps(names))

    def _call(self, fn: Callable[..., Any], *args: str) -> Any:
        from keyring.errors import KeyringError

        try:
            return fn(*args)
        except KeyringError as exc:  # keyring's messages name the backend, not the value
            what = type(exc).__name__
            raise SecretBackendLocked(
                f"the keychain ({self.backend.name}) refused: {what}: {exc}"
            ) from exc


def keyring_usable(backend: Any) -> bool:
    """Whether ``backend`` stores anything: not keyring's fail or null backend, nor a chain
    of no backends (what ``keyring`` picks on a machine without a keychain)."""
    from keyring.backends import chainer, fail, null

    if isinstance(backend, fail.Keyring | null.Keyring):
        return False
    return not (isinstance(backend, chainer.ChainerBackend) and not backend.backends)


def open_store(data_home: Path, mode: str = "auto") -> SecretStore:
    """The store for ``mode``: ``keyring`` (an error if the machine has none), ``file``
    (``<data home>/secrets.toml``), or ``auto``: the keychain when there is one, else the
    file, saying so."""
    path = data_home / SECRETS_FILE
    if mode not in BACKEND_MODES:
        raise SecretStoreError(
            f"{BACKEND_ENV} must be one of {', '.join(BACKEND_MODES)}, not {mode!r}"
        )
    if mode == "file":
        return FileStore(path, note=f" ({BACKEND_ENV}=file)")
    import keyring

    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a broken keyringrc: say so, and keep working from the file
        if mode == "keyring":
            raise SecretStoreError(f"keyring cannot start: {exc}") from None
        return FileStore(path, note=f" (the keychain failed to start: {exc})")
    if keyring_usable(backend):
        return KeyringStore(backend)
    if mode == "keyring":
        raise SecretStoreError(
            f"{BACKEND_ENV}=keyring, but this machine has no keychain backend "
            f"(keyring chose {backend.name}); unset it to use {path}"
        )
    return FileStore(path, note=" (no keychain on this machine)")


class LazyStore:
    """A store chosen on first use (``factory`` runs once; callers are in worker threads)."""

    def __init__(self, factory: Callable[[], SecretStore]) -> None:
        self._factory = factory
        self._store: SecretStore | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> SecretStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = self._factory()
        return self._store

    def describe(self) -> str:
        return self.store.describe()

    def get(self, name: str, *, scope: str = HANGAR_SCOPE) -> str | None:
        return self.store.get(name, scope=scope)

    def set(self, name: str, value: str, *, scope: str = HANGAR_SCOPE) -> None:
        self.store.set(name, value, scope=scope)

    def delete(self, name: str, *, scope: str = HANGAR_SCOPE) -> bool:
        return self.store.delete(name, scope=scope)

    def list_names(self, *, scope: str = HANGAR_SCOPE) -> list[str]:
        return self.store.list_names(scope=scope)
