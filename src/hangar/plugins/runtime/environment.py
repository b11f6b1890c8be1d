"""The environment a plugin process starts with (its managed children get the same).

It is the host's own, without the secrets (``AINB_SECRET_*``: a plugin asks for those
through ``host/secret_store_get``), plus what the SDK reads: ``AINB_HANGAR_HOME``,
``AINB_PLUGIN_ID``, ``AINB_PLUGIN_DIR``, ``AINB_PLUGIN_DATA_DIR``, and a ``PYTHONPATH``
that finds the ``hangar`` package the host runs from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import hangar
from hangar.plugins.runtime.discovery import PluginSpec
from hangar.plugins.runtime.secrets import ENV_PREFIX

__all__ = ["plugin_environment"]


def plugin_environment(
    host_env: Mapping[str, str], spec: PluginSpec, data_home: Path, data_dir: Path
) -> dict[str, str]:
    """What ``spec``'s executable (and its managed children) start with: the host's
    environment without its secrets, plus where the SDK, the data home and its own
    directories are."""
    # secrets reach a plugin only through host/secret_store_get, never its environment
    env = {k: v for k, v in host_env.items() if not k.startswith(ENV_PREFIX)}
    # a Python plugin runs under our interpreter: make sure it can import the SDK
    src = str(Path(hangar.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(x for x in (src, env.get("PYTHONPATH")) if x)
    env["AINB_HANGAR_HOME"] = str(data_home)
    env["AINB_PLUGIN_ID"] = spec.id
    env["AINB_PLUGIN_DIR"] = str(spec.dir)
    env["AINB_PLUGIN_DATA_DIR"] = str(data_dir)
    return env
