"""What every agent process starts with, tasks' and sessions' alike (docs/agents.md#environment).

``AgentEnvironment.build`` is ``core.env_policy.apply_policy`` with the daemon's parts filled
in: the allowlist in force (``<home>/env.allow.toml``, re-read when the file changes, so
``hangar config env.allow add`` applies to the next spawn), the daemon's environment, and
the provider's API keys from the secret store, which win over ambient ones. The first time
the daemon starts an agent of a provider it logs the full-access warning
(docs/agents.md#the-full-access-warning).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hangar.adapters.secrets import SecretStore, SecretStoreError
from hangar.core import full_access
from hangar.core.env_policy import DEFAULT_ALLOW, DeniedEntry, EnvPolicy, apply_policy
from hangar.core.provider_keys import keys_for

__all__ = ["AgentEnvError", "AgentEnvironment"]


class AgentEnvError(RuntimeError):
    """The environment cannot be built as configured (a refused allow file, a secret store
    that may not be read): the agent is not started, and the message says why."""


class AgentEnvironment:
    def __init__(
        self,
        *,
        parent_env: Mapping[str, str],
        policy: EnvPolicy | None = None,
        allow_file: Path | None = None,
        secrets: SecretStore | None = None,
        log: Any = None,
    ) -> None:
        """``policy``: the allowlist to start from; ``allow_file``: where it is kept, read
        again whenever it changes (None: ``policy`` is fixed). ``secrets``: where the
        providers' keys come from (None: none are injected)."""
        self.parent_env = parent_env
        self.allow_file = allow_file
        self.secrets = secrets
        self.log = log
        self._policy = policy or EnvPolicy(DEFAULT_ALLOW)
        self._seen = _stat(allow_file) if allow_file is not None else None
        self._lock = threading.Lock()
        self._warned: set[str] = set()

    # -- the allowlist --------------------------------------------------------------------

    def policy(self) -> EnvPolicy:
        """The allowlist in force: the file as it is now (one ``stat`` when it has not
        changed). A file the daemon would refuse at start is refused here too."""
        if self.allow_file is None:
            return self._policy
        seen = _stat(self.allow_file)
        if seen == self._seen:
            return self._policy
        with self._lock:
            self._policy = self._read(self.allow_file)
            self._seen = seen
        return self._policy

    def source(self) -> str:
        """``file`` when the allow file exists, else ``default``."""
        return "file" if self.allow_file is not None and self.allow_file.exists() else "default"

    @staticmethod
    def _read(path: Path) -> EnvPolicy:
        try:
            text = path.read_text()
        except FileNotFoundError:
            return EnvPolicy(DEFAULT_ALLOW)
        except (OSError, UnicodeDecodeError) as exc:
            raise AgentEnvError(f"{path}: {exc}") from None
        try:
            return EnvPolicy.from_toml(text)
        except DeniedEntry as exc:
            raise AgentEnvError(f"{path}: {exc}; remove it from [env].allow") from None
        except ValueError as exc:
            raise AgentEnvError(f"{path}: {exc}") from None

    # -- building one ---------------------------------------------------------------------

    async def build(
        self,
        *,
        provider: str | None,
        daemon_vars: Mapping[str, str],
        agent_env: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """The whole environment of an agent of ``provider``: ambient variables the policy
        passes, then ``daemon_vars`` (which nothing overrides), then the provider's stored
        keys, then ``agent_env``; the deny family never passes. ``AgentEnvError`` when
        it cannot be built as configured."""
        policy = self.policy()
        secrets = await self.provider_keys(provider)
        self._warn_once(provider)
        return apply_policy(
            policy,
            self.parent_env,
            daemon_vars=daemon_vars,
            secrets=secrets,
            agent_env=agent_env,
        )

    async def provider_keys(self, provider: str | None) -> dict[str, str]:
        """The stored keys an agent of ``provider`` gets (the store is asked in a thread: a
        keychain answers over D-Bus)."""
        names = keys_for(provider)
        if not names or self.secrets is None:
            return {}
        store = self.secrets

        def read() -> dict[str, str]:
            found = {}
            for name in names:
                value = store.get(name)
                if value is not None:
                    found[name] = value
            return found

        try:
            return await asyncio.to_thread(read)
        except SecretStoreError as exc:
            raise AgentEnvError(f"cannot read {provider}'s API key: {exc}") from None

    def _warn_once(self, provider: str | None) -> None:
        key = provider or full_access.UNKNOWN_PROVIDER
        if key in self._warned or self.log is None:
            return
        self._warned.add(key)
        self.log.warning(
            "agents run with full access",
            provider=key,
            detail="the agent runs as the daemon's user, outside any sandbox: every file "
            "that user can reach, any command, the network",
        )


def _stat(path: Path | None) -> tuple[int, int, int] | None:
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)
