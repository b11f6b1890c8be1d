"""Secrets (the agents' API keys) and settings (the env allowlist, ``config.toml``, what the
daemon runs with). Every method here needs the ``admin`` scope (``proto.scopes``).

The store is asked in a thread (a keychain answers over D-Bus). A secret's value arrives in
``hangar/secret_set`` and goes nowhere but the store: never into a log, an error or a reply.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hangar.adapters import tomlfile
from hangar.adapters.files import private_dir
from hangar.adapters.secrets import SecretBackendLocked, SecretStore, SecretStoreError
from hangar.core.env_policy import ALLOW_FILE, DENY_FAMILY, validate_allow_key
from hangar.core.provider_keys import (
    PROVIDER_KEYS,
    validate_secret_name,
    validate_secret_value,
)
from hangar.daemon import settings as cfg
from hangar.daemon.config import DaemonConfig
from hangar.daemon.environment import AgentEnvError, AgentEnvironment
from hangar.daemon.rpc.common import Routes, invalid, not_found, routes
from hangar.proto import api, calls
from hangar.proto import jsonrpc as rpc
from hangar.proto import settings as st

if TYPE_CHECKING:
    from hangar.daemon.rpc.server import Connection

__all__ = ["SettingsRoutes"]


class SettingsRoutes:
    def __init__(
        self,
        config: DaemonConfig,
        *,
        env: Mapping[str, str],
        environment: AgentEnvironment,
        secrets: SecretStore,
        log: Any,
    ) -> None:
        """``env``: the environment the daemon was configured from (sources of settings)."""
        self.config = config
        self.env = env
        self.environment = environment
        self.secrets = secrets
        self.log = log
        self.allow_path = config.paths.root / ALLOW_FILE
        self._allow_lock = asyncio.Lock()

    def routes(self) -> Routes:
        return routes(
            (calls.SECRETS_LIST, self.secrets_list),
            (calls.SECRET_SET, self.secret_set),
            (calls.SECRET_DELETE, self.secret_delete),
            (calls.ENV_ALLOW_LIST, self.allow_list),
            (calls.ENV_ALLOW_ADD, self.allow_add),
            (calls.ENV_ALLOW_REMOVE, self.allow_remove),
            (calls.CONFIG_SHOW, self.show),
            (calls.CONFIG_SET, self.set),
        )

    # -- secrets ------------------------------------------------------------------------

    async def _store(self, fn: Any, *args: Any, **kw: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args, **kw)
        except SecretBackendLocked as exc:
            raise rpc.RpcError(rpc.SECRET_BACKEND_LOCKED, str(exc)) from None
        except SecretStoreError as exc:
            raise rpc.RpcError(rpc.INTERNAL_ERROR, str(exc)) from None

    async def secrets_list(self, conn: Connection, p: api.Empty) -> st.SecretsListResult:
        names = await self._store(self.secrets.list_names)
        backend = await self._store(self.secrets.describe)
        return st.SecretsListResult(backend=backend, names=names)

    async def secret_set(self, conn: Connection, p: st.SecretSetParams) -> st.SecretSetResult:
        name = _checked(validate_secret_name, p.name)
        value = _checked(validate_secret_value, p.value)
        had = await self._store(self.secrets.get, name)
        await self._store(self.secrets.set, name, value)
        backend = await self._store(self.secrets.describe)
        self.log.info("secret stored", name=name, backend=backend, replaced=had is not None)
        providers = [prov for prov, keys in PROVIDER_KEYS.items() if name in keys]
        return st.SecretSetResult(
            name=name, backend=backend, replaced=had is not None, providers=providers
        )

    async def secret_delete(
        self, conn: Connection, p: st.SecretNameParams
    ) -> st.SecretDeleteResult:
        name = _checked(validate_secret_name, p.name)
        deleted = await self._store(self.secrets.delete, name)
        if not deleted:
            raise not_found("secret", name)
        backend = await self._store(self.secrets.describe)
        self.log.info("secret deleted", name=name, backend=backend)
        return st.SecretDeleteResult(name=name, backend=backend)

    # -- the env allowlist --------------------------------------------------------------

    def _allow_result(self, changed: str = "") -> st.EnvAllowResult:
        try:
            policy = self.environment.policy()
        except AgentEnvError as exc:
            raise invalid(str(exc)) from None
        return st.EnvAllowResult(
            allow=list(policy.allow),
            deny=list(DENY_FAMILY),
            path=str(self.allow_path),
            source="file" if self.environment.source() == "file" else "default",
            changed=changed,
        )

    async def allow_list(self, conn: Connection, p: api.Empty) -> st.EnvAllowResult:
        return self._allow_result()

    async def allow_add(self, conn: Connection, p: st.EnvAllowKeyParams) -> st.EnvAllowResult:
        key = _checked(validate_allow_key, p.key)  # a deny-family entry is refused here
        async with self._allow_lock:
            allow = list(self._allow_result().allow)
            if key in allow:
                return self._allow_result(f"{key} is already allowed")
            await self._write_allow([*allow, key])
        self.log.info("env allowlist entry added", key=key)
        return self._allow_result(f"added {key}")

    async def allow_remove(self, conn: Connection, p: st.EnvAllowKeyParams) -> st.EnvAllowResult:
        async with self._allow_lock:
            allow = list(self._allow_result().allow)
            if p.key not in allow:
                raise not_found("allowlist entry", p.key)
            await self._write_allow([k for k in allow if k != p.key])
        self.log.info("env allowlist entry removed", key=p.key)
        return self._allow_result(f"removed {p.key}")

    async def _write_allow(self, allow: list[str]) -> None:
        """``[env].allow`` rewritten, every other key of the file kept (temp + rename, 0600)."""
        private_dir(self.allow_path.parent)
        try:
            await asyncio.to_thread(tomlfile.edit, self.allow_path, "env", {"allow": allow})
        except (OSError, tomlfile.TomlFileError) as exc:
            raise invalid(f"cannot write {self.allow_path}: {exc}") from None

    # -- config -------------------------------------------------------------------------

    async def show(self, conn: Connection, p: api.Empty) -> st.ConfigShowResult:
        rows = cfg.daemon_settings(self.config, self.env)
        try:
            backend = await self._store(self.secrets.describe)
        except rpc.RpcError as exc:
            backend = f"unavailable: {exc.message}"
        rows.append(cfg.secrets_row(backend, self.env))
        allow = self._allow_result()
        rows.append(
            cfg.SettingView(
                key="env.allow",
                value=", ".join(allow.allow),
                source=allow.source,
                origin=allow.path,
                about="what agents and plugins may see of the environment (deny family: "
                "hangar config env.allow list)",
            )
        )
        rows += cfg.file_settings(self.config.paths.config)
        return st.ConfigShowResult(settings=[_wire(r) for r in rows])

    async def set(self, conn: Connection, p: st.ConfigSetParams) -> st.Setting:
        try:
            row = await asyncio.to_thread(cfg.set_value, self.config.paths.config, p.key, p.value)
        except (ValueError, OSError) as exc:
            raise invalid(str(exc)) from None
        self.log.info("setting written", key=p.key, value=row.value)
        return _wire(row)


def _wire(row: cfg.SettingView) -> st.Setting:
    return st.Setting(
        key=row.key,
        value=row.value,
        source=row.source,  # type: ignore[arg-type]
        origin=row.origin,
        about=row.about,
    )


def _checked(check: Any, value: str) -> str:
    try:
        return str(check(value))
    except ValueError as exc:
        raise invalid(str(exc)) from None
