"""How every front end reaches the daemon: find or start it, authenticate, call, get events.

``AsyncClient`` is imported lazily so that ``import hangar.client`` (the CLI path) does not pay
for ``asyncio``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hangar.client.autostart import ensure_daemon
from hangar.client.errors import ConnectionLost, DaemonUnreachable, RemoteError, ResultMismatch
from hangar.client.sync_client import SyncClient
from hangar.core.lazy import lazy_getattr as _lazy_getattr

if TYPE_CHECKING:
    from hangar.client.async_client import AsyncClient

__all__ = [
    "AsyncClient",
    "ConnectionLost",
    "DaemonUnreachable",
    "RemoteError",
    "ResultMismatch",
    "SyncClient",
    "ensure_daemon",
]


__getattr__ = _lazy_getattr(__name__, {"AsyncClient": "hangar.client.async_client"})
