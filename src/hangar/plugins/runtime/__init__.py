"""The host side of the plugin architecture: discover, spawn, gate, route, event bus.

``PluginHost`` is the entry point; see its module for the calls a front end (or the
conformance suite) makes.

Names load on first use, so the CLI can read manifests (``runtime.discovery``) without
importing asyncio and the rest of the host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hangar.core.lazy import lazy_getattr

if TYPE_CHECKING:
    from hangar.plugins.runtime.actions import Action, ActionRegistry
    from hangar.plugins.runtime.bus import Snapshot, SnapshotBus
    from hangar.plugins.runtime.connection import Limits
    from hangar.plugins.runtime.discovery import (
        PLUGINS_DIR_ENV,
        Discovery,
        DiscoveryProblem,
        PluginSpec,
        bundled_plugins_dir,
        discover,
        load_plugin_dir,
        search_dirs,
    )
    from hangar.plugins.runtime.errors import (
        PluginBadResult,
        PluginCrashed,
        PluginError,
        PluginNotFound,
        PluginQuarantined,
        PluginTimeout,
    )
    from hangar.plugins.runtime.host import PluginHost, PluginStatus
    from hangar.plugins.runtime.policy import PluginState, Policy
    from hangar.plugins.runtime.state import QuarantineStore

_WHERE = {
    "Action": "hangar.plugins.runtime.actions",
    "ActionRegistry": "hangar.plugins.runtime.actions",
    "Discovery": "hangar.plugins.runtime.discovery",
    "DiscoveryProblem": "hangar.plugins.runtime.discovery",
    "Limits": "hangar.plugins.runtime.connection",
    "PLUGINS_DIR_ENV": "hangar.plugins.runtime.discovery",
    "PluginBadResult": "hangar.plugins.runtime.errors",
    "PluginCrashed": "hangar.plugins.runtime.errors",
    "PluginError": "hangar.plugins.runtime.errors",
    "PluginHost": "hangar.plugins.runtime.host",
    "PluginNotFound": "hangar.plugins.runtime.errors",
    "PluginQuarantined": "hangar.plugins.runtime.errors",
    "PluginSpec": "hangar.plugins.runtime.discovery",
    "PluginState": "hangar.plugins.runtime.policy",
    "PluginStatus": "hangar.plugins.runtime.host",
    "PluginTimeout": "hangar.plugins.runtime.errors",
    "Policy": "hangar.plugins.runtime.policy",
    "QuarantineStore": "hangar.plugins.runtime.state",
    "Snapshot": "hangar.plugins.runtime.bus",
    "SnapshotBus": "hangar.plugins.runtime.bus",
    "bundled_plugins_dir": "hangar.plugins.runtime.discovery",
    "discover": "hangar.plugins.runtime.discovery",
    "load_plugin_dir": "hangar.plugins.runtime.discovery",
    "search_dirs": "hangar.plugins.runtime.discovery",
}


__getattr__ = lazy_getattr(__name__, _WHERE)


__all__ = [
    "PLUGINS_DIR_ENV",
    "Action",
    "ActionRegistry",
    "Discovery",
    "DiscoveryProblem",
    "Limits",
    "PluginBadResult",
    "PluginCrashed",
    "PluginError",
    "PluginHost",
    "PluginNotFound",
    "PluginQuarantined",
    "PluginSpec",
    "PluginState",
    "PluginStatus",
    "PluginTimeout",
    "Policy",
    "QuarantineStore",
    "Snapshot",
    "SnapshotBus",
    "bundled_plugins_dir",
    "discover",
    "load_plugin_dir",
    "search_dirs",
]
