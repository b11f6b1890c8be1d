"""Host-side actions a plugin can run with ``host/action/invoke``: registered Python callables.

A callable takes the payload bytes and returns bytes, synchronously (run in a worker thread)
or as a coroutine. An action that outlives ``timeout_ms`` answers -32002; a worker thread
cannot be interrupted, so a slow sync action finishes in the background and is discarded.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

from hangar.proto.jsonrpc import ACTION_TIMEOUT, INTERNAL_ERROR, METHOD_NOT_FOUND, RpcError

__all__ = ["Action", "ActionRegistry"]

Action = Callable[[bytes], bytes | Awaitable[bytes]]


class ActionRegistry:
    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}

    def register(self, name: str, fn: Action) -> None:
        self._actions[name] = fn

    async def invoke(self, name: str, payload: bytes, timeout_ms: int) -> bytes:
        fn = self._actions.get(name)
        if fn is None:
            raise RpcError(METHOD_NOT_FOUND, f"unknown action: {name}")
        if inspect.iscoroutinefunction(fn):
            work: Awaitable[bytes | Awaitable[bytes]] = fn(payload)
        else:
            work = asyncio.to_thread(fn, payload)
        timeout = timeout_ms / 1000 if timeout_ms > 0 else None
        try:
            result = await asyncio.wait_for(work, timeout)
            if inspect.isawaitable(result):
                result = await asyncio.wait_for(result, timeout)
        except TimeoutError:
            raise RpcError(
                ACTION_TIMEOUT, f"action {name} timed out after {timeout_ms} ms"
            ) from None
        except RpcError:
            raise
        except Exception as exc:
            raise RpcError(INTERNAL_ERROR, f"action {name} failed: {exc}") from None
        if not isinstance(result, bytes | bytearray):
            raise RpcError(INTERNAL_ERROR, f"action {name} returned {type(result).__name__}")
        return bytes(result)
