"""Beads sync over the socket: ``hangar/beads_reconcile`` (docs/beads.md#reconcile).

Beads off (or set up so it cannot work) is a -32011 conflict with ``data.kind =
"beads_not_configured"`` whose message says how to set it up; bd failing to list is a -32011
with ``kind = "bd_failed"`` and bd's own message. Failures of single pairs are in the report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hangar.adapters.beads import BdError
from hangar.daemon.beads import BeadsSync
from hangar.daemon.config import BeadsNotConfigured
from hangar.daemon.rpc.common import Routes, resolve_workspace, routes
from hangar.proto import beads as wire
from hangar.proto import calls
from hangar.proto import jsonrpc as rpc
from hangar.store import Store

if TYPE_CHECKING:
    from hangar.daemon.rpc.server import Connection

__all__ = ["BeadsRoutes"]


class BeadsRoutes:
    def __init__(self, store: Store, sync: BeadsSync) -> None:
        self.store = store
        self.sync = sync

    def routes(self) -> Routes:
        return routes((calls.BEADS_RECONCILE, self.reconcile))

    async def reconcile(
        self, conn: Connection, p: wire.BeadsReconcileParams
    ) -> wire.BeadsReconcileResult:
        ws = await resolve_workspace(self.store, p.workspace_id)
        try:
            return await self.sync.reconcile(ws.id, dry_run=p.dry_run, labels=p.labels)
        except BeadsNotConfigured as exc:
            raise rpc.RpcError(rpc.CONFLICT, str(exc), {"kind": "beads_not_configured"}) from None
        except BdError as exc:
            raise rpc.RpcError(
                rpc.CONFLICT, exc.message, {"kind": "bd_failed", "code": exc.code}
            ) from None
