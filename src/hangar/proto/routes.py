"""A route table: method name → (params type, handler), and one way to dispatch through it.

The daemon's RPC server and the plugin host's plugin→host requests both route with it, so
"unknown method" and "invalid params" are answered the same way everywhere. Handlers take
a caller context (the connection, the plugin's supervisor, …) and the typed params.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

from hangar.proto.jsonrpc import INVALID_PARAMS, METHOD_NOT_FOUND, RpcError

__all__ = ["Converter", "Handler", "Route", "RouteTable", "convert_params"]

C = TypeVar("C")
T = TypeVar("T")

Handler = Callable[[C, Any], Awaitable[Any]]
#: Decoded JSON params → the route's params type; raises RpcError(INVALID_PARAMS).
Converter = Callable[[Any, type[Any]], Any]


def convert_params(raw: Any, params_type: type[T]) -> T:
    """The default converter: ``msgspec.convert`` with its constraints, errors as -32602."""
    try:
        return msgspec.convert(raw, params_type)
    except msgspec.ValidationError as exc:
        raise RpcError(INVALID_PARAMS, f"invalid params: {exc}") from None


@dataclass(frozen=True)
class Route(Generic[C]):
    method: str
    #: the params struct; None hands the decoded JSON to the handler as it is
    params: type[Any] | None
    handler: Handler[C]


class RouteTable(Generic[C]):
    """Routes by method name. Built once at start-up; dispatch is one dict lookup."""

    def __init__(self, convert: Converter = convert_params, *, null_is_empty: bool = True) -> None:
        """``null_is_empty``: absent (null) params convert as ``{}``; False hands the null to
        ``convert`` as it is (the plugin host's answer to a null has always been -32602)."""
        self._routes: dict[str, Route[C]] = {}
        self._convert = convert
        self._null_is_empty = null_is_empty

    def add(self, method: str, params: type[Any] | None, handler: Handler[C]) -> None:
        if method in self._routes:
            raise ValueError(f"route {method!r} is defined twice")
        self._routes[method] = Route(method, params, handler)

    def include(self, other: RouteTable[C]) -> None:
        """Take every route of ``other`` (a noun's table); a name defined twice is an error."""
        for route in other:
            self.add(route.method, route.params, route.handler)

    def wrapped(self, wrap: Callable[[Handler[C]], Handler[C]]) -> RouteTable[C]:
        """A copy whose handlers are all wrapped (error translation, say)."""
        table: RouteTable[C] = RouteTable(self._convert, null_is_empty=self._null_is_empty)
        for route in self:
            table.add(route.method, route.params, wrap(route.handler))
        return table

    def __iter__(self) -> Iterator[Route[C]]:
        return iter(self._routes.values())

    def __contains__(self, method: object) -> bool:
        return method in self._routes

    def __len__(self) -> int:
        return len(self._routes)

    def methods(self) -> list[str]:
        return sorted(self._routes)

    async def dispatch(self, caller: C, method: str, raw: Any) -> Any:
        """Run ``method``'s handler; -32601 for an unknown method, -32602 for bad params."""
        route = self._routes.get(method)
        if route is None:
            raise RpcError(METHOD_NOT_FOUND, f"method not found: {method}")
        if route.params is None:
            return await route.handler(caller, raw)
        empty = raw is None and self._null_is_empty
        params = self._convert({} if empty else raw, route.params)
        return await route.handler(caller, params)
