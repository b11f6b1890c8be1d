"""The plugin gate reads the one secret store: a key ``hangar secrets set`` stored is what a
plugin granted ``secrets:read`` for it gets, from the keychain when there is one, else from
the 0600 file; the environment still answers first."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import keyring
import pytest

from hangar.adapters.secrets import FileStore, KeyringStore
from hangar.core.paths import HangarPaths
from hangar.plugins.runtime import PluginHost
from hangar.plugins.runtime.secrets import default_store, env_name
from hangar.proto.jsonrpc import SECRET_NOT_FOUND, RpcError
from tests.adapters.test_secrets import DictKeyring
from tests.plugins.test_runtime_services import (  # noqa: F401  (fixtures)
    Make,
    call,
    make_svc,
    secret_host,
)


async def test_a_key_stored_for_agents_reaches_a_granted_plugin(
    secret_host: Callable[[dict[str, str]], PluginHost],  # noqa: F811
    make_svc: Make,  # noqa: F811
    plugin_home: HangarPaths,
) -> None:
    # what `hangar secrets set ANTHROPIC_API_KEY` leaves on a machine without a keychain
    FileStore(plugin_home.root / "secrets.toml").set("ANTHROPIC_API_KEY", "sk-shared")
    host = secret_host({"HANGAR_SECRETS_BACKEND": "file"})
    ns = await make_svc("granted", '"secrets:read" = ["ANTHROPIC_API_KEY"]', host)

    got = await call(
        host, ns, "host/secret_store_get", {"scope": "hangar", "key": "ANTHROPIC_API_KEY"}
    )
    assert got == {"result": {"value": "sk-shared"}}
    got = await call(host, ns, "host/secret_store_get", {"scope": "hangar", "key": "OTHER"})
    assert got["code"] == -32007  # not granted: the gate answers before the store


def test_the_keychain_is_read_between_the_environment_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = DictKeyring()
    monkeypatch.setattr(keyring, "get_keyring", lambda: backend)
    KeyringStore(backend).set("token", "from-keychain", scope="gh")
    path = tmp_path / "secrets.toml"
    FileStore(path).set("token", "from-file", scope="gh")
    FileStore(path).set("only-file", "file-only", scope="gh")

    assert default_store({}, tmp_path).require("gh", "token") == "from-keychain"
    assert default_store({}, tmp_path).require("gh", "only-file") == "file-only"
    env = {env_name("gh", "token"): "from-env"}
    assert default_store(env, tmp_path).require("gh", "token") == "from-env"
    # HANGAR_SECRETS_BACKEND=file: the daemon keeps keys in the file, so the plugin reads it
    assert (
        default_store({"HANGAR_SECRETS_BACKEND": "file"}, tmp_path).require("gh", "token")
        == "from-file"
    )
    with pytest.raises(RpcError) as err:
        default_store({}, tmp_path).require("gh", "absent")
    assert err.value.code == SECRET_NOT_FOUND
    assert os.stat(path).st_mode & 0o777 == 0o600
