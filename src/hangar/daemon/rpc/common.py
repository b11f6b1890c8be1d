"""What every noun's routes share: workspace resolution, error translation, paging.

Every workspace-scoped call resolves slug-or-id to the real row first (the IDOR guard): an
id from another workspace gets exactly the answer a missing id gets
(docs/wire-protocol.md#workspaces).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from hangar.core.fsm import UnknownState
from hangar.daemon.lifecycle import Refused
from hangar.daemon.sessions.errors import INVALID_KINDS, SessionError
from hangar.proto import jsonrpc as rpc
from hangar.proto.calls import Call
from hangar.proto.routes import Handler, RouteTable
from hangar.proto.rows import WorkspaceRow
from hangar.store import Conflict, InvalidTransition, InvalidValue, NotFound, Store

if TYPE_CHECKING:
    from hangar.daemon.rpc.server import Connection

__all__ = [
    "Routes",
    "invalid",
    "merged",
    "not_found",
    "resolve_workspace",
    "routes",
    "translating",
]

P = TypeVar("P")

#: A noun's table: handlers take the connection and the typed params.
Routes = RouteTable["Connection"]


def not_found(kind: str, ident: str) -> rpc.RpcError:
    return rpc.RpcError(rpc.NOT_FOUND, f"{kind} not found: {ident}")


def invalid(message: str) -> rpc.RpcError:
    return rpc.RpcError(rpc.INVALID_PARAMS, message)


async def resolve_workspace(store: Store, ident: str | None) -> WorkspaceRow:
    """Slug or id → the row (absent: the default workspace); a missing one is -32010."""
    if ident is None:
        return await store.workspace_default()
    row = await store.workspace_resolve(ident)
    if row is None:
        raise not_found("workspace", ident)
    return row


def _session_error(exc: SessionError) -> rpc.RpcError:
    if exc.kind == "not_found":
        code = rpc.NOT_FOUND
    elif exc.kind in INVALID_KINDS:
        code = rpc.INVALID_PARAMS
    else:
        code = rpc.CONFLICT
    return rpc.RpcError(code, exc.message, {"kind": exc.kind})


def translating(fn: Handler[Connection]) -> Handler[Connection]:
    """Store and domain errors become the JSON-RPC errors a client can act on."""

    @functools.wraps(fn)
    async def wrapper(conn: Connection, params: Any) -> Any:
        try:
            return await fn(conn, params)
        except SessionError as exc:
            raise _session_error(exc) from None
        except NotFound as exc:
            raise rpc.RpcError(rpc.NOT_FOUND, str(exc)) from None
        except Conflict as exc:
            raise rpc.RpcError(rpc.CONFLICT, str(exc)) from None
        except (Refused, InvalidValue, InvalidTransition, UnknownState, ValueError) as exc:
            raise invalid(str(exc)) from None

    return wrapper


def routes(*entries: tuple[Call[Any, Any], Callable[[Connection, Any], Awaitable[Any]]]) -> Routes:
    """A noun's table from (descriptor, handler) pairs: the method's name and params struct
    come from ``hangar.proto.calls``, the one description both ends use."""
    table: Routes = RouteTable()
    for call, handler in entries:
        table.add(call.method, call.params, handler)
    return table


def merged(*nouns: Routes) -> Routes:
    """The daemon's whole table: every noun's routes, each behind the error translation."""
    table: Routes = RouteTable()
    for noun in nouns:
        table.include(noun)
    return table.wrapped(translating)
