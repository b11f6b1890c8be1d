"""The secret store's port, against every backend: the in-memory one, the real ``keyring``
library (with an in-memory ``KeyringBackend`` and with keyring's own fail and null
backends), the 0600 file fallback, and a real Secret Service (gnome-keyring in a private
D-Bus session) when the machine has one."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keyring.backend
import keyring.errors
import pytest
from keyring.backends import chainer, fail, null

from hangar.adapters.secrets import (
    FileStore,
    KeyringStore,
    LazyStore,
    MemoryStore,
    SecretBackendLocked,
    SecretStore,
    SecretStoreError,
    keyring_usable,
    open_store,
)


class DictKeyring(keyring.backend.KeyringBackend):
    """A real ``KeyringBackend`` keeping passwords in a dict (keyring ships none). Not
    ``viable``: keyring's own discovery (``get_keyring``, the chainer) never picks it."""

    priority = 1  # type: ignore[assignment]
    viable = False  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.data.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.data[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.data.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)


class LockedKeyring(DictKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("the collection is locked")


class EmptyChain(chainer.ChainerBackend):
    backends: list[Any] = []  # type: ignore[assignment]
    viable = False  # type: ignore[assignment]


def _stores(tmp: Path) -> dict[str, Callable[[], SecretStore]]:
    return {
        "memory": MemoryStore,
        "keyring": lambda: KeyringStore(DictKeyring()),
        "file": lambda: FileStore(tmp / "home" / "secrets.toml"),
        "lazy": lambda: LazyStore(MemoryStore),
    }


@pytest.mark.parametrize("kind", ["memory", "keyring", "file", "lazy"])
def test_the_port_sets_gets_lists_and_deletes(kind: str, tmp_path: Path) -> None:
    store = _stores(tmp_path)[kind]()
    assert store.get("ANTHROPIC_API_KEY") is None
    assert store.list_names() == []

    store.set("OPENAI_API_KEY", "sk-open")
    store.set("ANTHROPIC_API_KEY", "sk-ant-1")
    store.set("ANTHROPIC_API_KEY", "sk-ant-2")  # replaces
    store.set("token", "gh-tok", scope="gh")  # a plugin's scope: kept apart

    assert store.get("ANTHROPIC_API_KEY") == "sk-ant-2"
    assert store.list_names() == ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"]
    assert store.list_names(scope="gh") == ["token"]
    assert store.get("token") is None and store.get("token", scope="gh") == "gh-tok"

    assert store.delete("ANTHROPIC_API_KEY") is True
    assert store.delete("ANTHROPIC_API_KEY") is False
    assert store.get("ANTHROPIC_API_KEY") is None
    assert store.list_names() == ["OPENAI_API_KEY"]
    assert store.describe()


def test_the_keyring_store_uses_service_hangar_and_the_variable_names() -> None:
    backend = DictKeyring()
    store = KeyringStore(backend)
    store.set("GEMINI_API_KEY", "g-1")
    store.set("token", "t", scope="gh")
    assert backend.data[("hangar", "GEMINI_API_KEY")] == "g-1"
    assert backend.data[("hangar:gh", "token")] == "t"
    assert store.describe() == f"keyring: {backend.name}"
    # an entry deleted behind our back (seahorse, `keyring del`) is not listed
    del backend.data[("hangar", "GEMINI_API_KEY")]
    assert store.list_names() == []


def test_a_locked_keychain_is_a_clear_error_without_the_value() -> None:
    store = KeyringStore(LockedKeyring())
    with pytest.raises(SecretBackendLocked, match="KeyringLocked"):
        store.get("ANTHROPIC_API_KEY")


def test_keyrings_fail_and_null_backends_are_not_usable() -> None:
    assert not keyring_usable(fail.Keyring())
    assert not keyring_usable(null.Keyring())
    assert not keyring_usable(EmptyChain())  # what keyring builds when it finds none
    assert keyring_usable(DictKeyring())
    with pytest.raises(SecretStoreError):  # keyring's fail backend raises on every call
        KeyringStore(fail.Keyring()).get("X")


def test_open_store_falls_back_to_the_file_when_there_is_no_keychain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    store = open_store(tmp_path)
    assert isinstance(store, FileStore)
    assert store.describe() == f"file: {tmp_path / 'secrets.toml'} (no keychain on this machine)"
    with pytest.raises(SecretStoreError, match="no keychain backend"):
        open_store(tmp_path, "keyring")

    usable = DictKeyring()
    monkeypatch.setattr(keyring, "get_keyring", lambda: usable)
    assert isinstance(open_store(tmp_path), KeyringStore)
    assert isinstance(open_store(tmp_path, "file"), FileStore)  # forced
    with pytest.raises(SecretStoreError, match="must be one of"):
        open_store(tmp_path, "vault")


def test_a_lazy_store_chooses_once_on_first_use() -> None:
    made: list[int] = []

    def factory() -> SecretStore:
        made.append(1)
        return MemoryStore()

    store = LazyStore(factory)
    assert made == []
    store.set("A", "1")
    assert store.get("A") == "1" and store.describe() == "memory (tests)"
    assert made == [1]


# -- the file fallback ---------------------------------------------------------------------


def test_the_file_is_created_0600_in_a_0700_home(tmp_path: Path) -> None:
    path = tmp_path / "home" / "secrets.toml"
    FileStore(path).set("ANTHROPIC_API_KEY", "sk-ant")
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    assert oct(path.parent.stat().st_mode & 0o777) == oct(0o700)
    assert 'ANTHROPIC_API_KEY = "sk-ant"' in path.read_text()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "secrets.toml"
    store = FileStore(path)
    store.set("ANTHROPIC_API_KEY", "sk-ant-secret")
    path.chmod(mode)
    for attempt in (
        lambda: store.get("ANTHROPIC_API_KEY"),
        store.list_names,
        lambda: store.set("OPENAI_API_KEY", "x"),  # not rewritten 0600 behind the user's back
    ):
        with pytest.raises(SecretBackendLocked) as err:
            attempt()
        assert f"mode {mode:04o}" in str(err.value) and "chmod 600" in str(err.value)
        assert "sk-ant-secret" not in str(err.value)
    assert oct(path.stat().st_mode & 0o777) == oct(mode)


def test_a_symlink_or_garbage_is_refused_without_quoting_it(tmp_path: Path) -> None:
    real = tmp_path / "real.toml"
    real.write_text('[hangar]\nX = "v"\n')
    real.chmod(0o600)
    link = tmp_path / "secrets.toml"
    link.symlink_to(real)
    with pytest.raises(SecretBackendLocked, match="cannot open"):
        FileStore(link).get("X")

    bad = tmp_path / "bad.toml"
    bad.write_text('[hangar]\nX = "sk-unterminated\n')
    bad.chmod(0o600)
    with pytest.raises(SecretBackendLocked, match="not valid TOML") as err:
        FileStore(bad).get("X")
    assert "sk-unterminated" not in str(err.value)


def test_writes_keep_other_scopes_and_the_users_comments(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text(
        textwrap.dedent(
            """\
            # my plugin secrets
            [gh]
            token = "gh-1"  # rotated in May
            """
        )
    )
    path.chmod(0o600)
    store = FileStore(path)
    store.set("ANTHROPIC_API_KEY", "sk-ant")
    text = path.read_text()
    assert "# my plugin secrets" in text and "# rotated in May" in text
    assert store.get("token", scope="gh") == "gh-1"
    assert store.delete("ANTHROPIC_API_KEY")
    assert store.get("token", scope="gh") == "gh-1" and "rotated" in path.read_text()


# -- a real Secret Service -----------------------------------------------------------------

_SECRET_SERVICE_PROBE = """
import sys, keyring
from keyring.backends import SecretService
from hangar.adapters.secrets import KeyringStore, open_store
from pathlib import Path
store = open_store(Path(sys.argv[1]))
assert isinstance(store, KeyringStore), store.describe()
assert isinstance(store.backend, SecretService.Keyring), store.describe()
store.set("ANTHROPIC_API_KEY", "sk-ant-real")
assert store.get("ANTHROPIC_API_KEY") == "sk-ant-real"
assert store.list_names() == ["ANTHROPIC_API_KEY"]
assert store.delete("ANTHROPIC_API_KEY") and store.get("ANTHROPIC_API_KEY") is None
print(store.describe())
"""


def _secret_service_tools() -> list[str] | None:
    tools = [shutil.which(t) for t in ("dbus-run-session", "gnome-keyring-daemon")]
    return None if None in tools else [t for t in tools if t]


@pytest.mark.skipif(
    _secret_service_tools() is None,
    reason="no Secret Service here (Debian: gnome-keyring and dbus-daemon)",
)
def test_a_real_secret_service_in_a_private_dbus_session(tmp_path: Path) -> None:
    """gnome-keyring, unlocked with a throwaway password, in a D-Bus session of its own: the
    user's keychain is never touched."""
    home = tmp_path / "home"
    home.mkdir()
    script = textwrap.dedent(
        f"""\
        set -e
        eval "$(printf 'hangar-test' | gnome-keyring-daemon --unlock --components=secrets)"
        export GNOME_KEYRING_CONTROL
        exec {shlex.quote(sys.executable)} -c "$PROBE" {shlex.quote(str(tmp_path / "data"))}
        """
    )
    env: dict[str, Any] = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_RUNTIME_DIR": str(tmp_path),
        "PROBE": _SECRET_SERVICE_PROBE,
    }
    done = subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("keyring: SecretService")
