"""The environment a plugin process starts with, and what its managed children get.

A plugin is built the way an agent is (``core.env_policy.apply_policy``): from an empty
environment, the host's variables that pass the user's allowlist and the deny family, then
the host's stamps. Two more things are withheld from plugins even where the allowlist lets
them through to agents (docs/plugins.md#environment):

- the host's own settings (``AINB_*``, ``HANGAR_*``): among them ``AINB_HANGAR_HOME``, the
  data home holding the daemon's socket token, and ``HANGAR_DATABASE_URL``;
- anything shaped like a credential (``*TOKEN*``, ``*SECRET*``, ``*API_KEY*``, ``AWS_*``, …):
  a plugin asks for a secret through ``host/secret_store_get``, which its manifest must grant.

The stamps are what the SDK reads: ``AINB_PLUGIN_ID``, ``AINB_PLUGIN_DIR``,
``AINB_PLUGIN_DATA_DIR`` (its only place under the data home) and a ``PYTHONPATH`` that
holds nothing but the ``hangar`` package the host runs from; and the host's ``TZ``, so a
plugin's days (burndown's) are the user's. Nothing in it names the data home itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import hangar
from hangar.core.env_policy import (
    ALLOW_FILE,
    DEFAULT_ALLOW,
    EnvPolicy,
    apply_policy,
    deny_family_of,
)
from hangar.plugins.runtime.discovery import PluginSpec

__all__ = ["is_withheld", "load_policy", "managed_environment", "plugin_environment"]

#: The host's own settings: never a plugin's business.
HOST_PREFIXES = ("AINB_", "HANGAR_")
#: Credentials (provider keys, tokens, cloud and registry logins, agent sockets): a plugin
#: gets a secret only through a granted ``secrets:read``. A name is one when it contains a
#: word of ``CREDENTIAL_WORDS``, has a ``_``-separated part in ``CREDENTIAL_PARTS`` (so
#: ``SSH_AUTH_SOCK`` is one and ``GIT_AUTHOR_NAME`` is not), or starts with a prefix below.
CREDENTIAL_WORDS = (
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "CREDENTIAL",
    "APIKEY",
    "COOKIE",
    "DATABASE_URL",
)
CREDENTIAL_PARTS = frozenset({"AUTH", "KEY", "KEYS", "PAT", "DSN"})
CREDENTIAL_PREFIXES = (
    "AWS_",
    "AZURE_",
    "GOOGLE_",
    "GCP_",
    "CLOUDSDK_",
    "GH_",
    "GITHUB_",
    "GITLAB_",
    "DOCKER_",
    "KUBECONFIG",
    "VAULT_",
    "NPM_CONFIG_",
    "TWINE_",
    "HF_",
    "XAUTHORITY",
)


def is_withheld(key: str) -> bool:
    """Whether a host variable is kept from plugins whatever the allowlist says."""
    upper = key.upper()
    return (
        upper.startswith(HOST_PREFIXES)
        or upper.startswith(CREDENTIAL_PREFIXES)
        or any(word in upper for word in CREDENTIAL_WORDS)
        or not CREDENTIAL_PARTS.isdisjoint(upper.split("_"))
    )


def load_policy(data_home: Path) -> EnvPolicy:
    """The user's policy, from ``<data home>/env.allow.toml`` as the daemon reads it (the
    defaults when there is none); ``ValueError`` naming the file and what is wrong."""
    path = data_home / ALLOW_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return EnvPolicy(DEFAULT_ALLOW)
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    try:
        return EnvPolicy.from_toml(text)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def plugin_environment(
    host_env: Mapping[str, str], spec: PluginSpec, data_dir: Path, policy: EnvPolicy
) -> dict[str, str]:
    """What ``spec``'s executable (and its managed children) start with."""
    ambient = {k: v for k, v in host_env.items() if not is_withheld(k)}
    stamps = {
        # a Python plugin runs under our interpreter: it must import the SDK, and nothing else
        # of the host's PYTHONPATH comes along (the deny family drops the ambient one)
        "PYTHONPATH": str(Path(hangar.__file__).resolve().parents[1]),
        "AINB_PLUGIN_ID": spec.id,
        "AINB_PLUGIN_DIR": str(spec.dir),
        "AINB_PLUGIN_DATA_DIR": str(data_dir),
    }
    if host_env.get("TZ"):  # what the host shows is in the user's zone: so are a plugin's days
        stamps["TZ"] = host_env["TZ"]
    return apply_policy(policy, ambient, daemon_vars=stamps)


def managed_environment(plugin_env: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """A managed child's environment: its plugin's, plus the variables the plugin asked for.

    Those may not be in the deny family (``ValueError`` naming the variable and its family);
    they may carry a secret the plugin was granted."""
    for key in extra:
        family = deny_family_of(key)
        if family is not None:
            raise ValueError(
                f"env {key!r} is in the deny family {family.name!r}, which no process the "
                f"host starts ever gets, because {family.why}"
            )
    return {**plugin_env, **extra}
