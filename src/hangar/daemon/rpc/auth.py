"""Who a connection is and what it may call: the token said at ``auth/hello`` becomes a
``Grant``, and every later call is admitted against it (docs/wire-protocol.md#scopes).

The socket token (the daemon's own 0600 file) grants ``admin``. A personal token (``ainb_…``)
grants the scope it was made with, for as long as it is neither expired nor revoked:

- expiry is checked against the clock at every call (no database read);
- revocation: a token revoked through this daemon is refused at once (``revoked`` marks it,
  and the server hangs up the connections holding it); one revoked by another daemon on the
  same PostgreSQL is seen at the next call after at most ``recheck_s`` (the token's row is
  re-read at most that often, whatever the number of calls);
- ``last_used`` is written at most once per ``touch_every_ms`` per token, never per call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from hangar.core import tokens
from hangar.core.clock import Clock
from hangar.proto import jsonrpc, scopes
from hangar.proto.auth import TokenRow
from hangar.store import Store

__all__ = ["SOCKET_GRANT", "Authenticator", "Grant", "TokenGate"]

#: a token longer than this is not one of ours: refused before it is hashed
MAX_TOKEN_CHARS = 256


@dataclass(frozen=True, slots=True)
class Grant:
    """What a connection holds after hello: a scope, and the personal token behind it
    (None for the socket token)."""

    scope: scopes.Scope
    token_id: str | None = None
    expires_at: int | None = None


SOCKET_GRANT = Grant(scope=scopes.ADMIN)


class Authenticator(Protocol):
    """What the socket server asks at hello and before each call; both raise ``RpcError``
    (``UNAUTHORIZED``: the connection closes; ``FORBIDDEN``: this call only)."""

    async def hello(self, token: str) -> Grant: ...

    async def admit(self, grant: Grant, method: str) -> None: ...


def _unauthorized(why: str) -> jsonrpc.RpcError:
    return jsonrpc.RpcError(jsonrpc.UNAUTHORIZED, why)


def _forbidden(grant: Grant, method: str) -> jsonrpc.RpcError:
    needed = scopes.required(method)
    return jsonrpc.RpcError(
        jsonrpc.FORBIDDEN,
        scopes.refusal(grant.scope, method),
        {"kind": "forbidden", "scope": grant.scope, "needs": needed},
    )


def _dead(row: TokenRow | None, now_ms: int) -> str | None:
    """Why a token can no longer be used, or None while it can."""
    if row is None:
        return "token revoked"  # deleted under us: as good as revoked
    if row.revoked_at is not None:
        return "token revoked"
    if row.expires_at is not None and now_ms >= row.expires_at:
        return "token expired"
    return None


@dataclass(slots=True)
class _Seen:
    #: time.monotonic() of the last read of the row
    checked: float
    #: why it is refused, or None
    dead: str | None
    #: the last ``last_used`` this daemon wrote (or read)
    touched: int


class TokenGate:
    """The daemon's ``Authenticator``: the socket token's digest, and personal tokens from
    the store."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        socket_digest: Callable[[], str],
        *,
        log: Any = None,
        recheck_s: float = 1.0,
        touch_every_ms: int = 60_000,
    ) -> None:
        self.store = store
        self.clock = clock
        self.socket_digest = socket_digest
        self.log = log
        self.recheck_s = recheck_s
        self.touch_every_ms = touch_every_ms
        self._seen: dict[str, _Seen] = {}
        self._revoked_listeners: list[Callable[[str], None]] = []

    async def hello(self, token: str) -> Grant:
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            raise _unauthorized("unauthorized")
        if not token.startswith(tokens.PAT_PREFIX):
            digest = self.socket_digest()
            if digest and tokens.verify(token, digest):
                return SOCKET_GRANT
            raise _unauthorized("unauthorized")
        if not tokens.looks_like_token(token, tokens.PAT_PREFIX):
            raise _unauthorized("unauthorized: malformed token")
        found = await self.store.tokens.by_digest(tokens.digest(token))
        if found is None or not tokens.verify(token, found[1]):
            raise _unauthorized("unauthorized")
        row = found[0]
        now = self.clock.now_ms()
        dead = _dead(row, now)
        seen = _Seen(checked=time.monotonic(), dead=dead, touched=row.last_used or 0)
        self._seen[row.id] = seen
        if dead is not None:
            raise _unauthorized(dead)
        await self._touch(row.id, seen, now)
        return Grant(scope=row.scope, token_id=row.id, expires_at=row.expires_at)

    async def admit(self, grant: Grant, method: str) -> None:
        if grant.token_id is not None:
            await self._still_good(grant)
        if not scopes.allows(grant.scope, scopes.required(method)):
            raise _forbidden(grant, method)

    def revoked(self, token_id: str) -> None:
        """A token was revoked through this daemon: refuse it from now on, and tell the
        listeners (the server hangs up its connections)."""
        self._seen[token_id] = _Seen(checked=time.monotonic(), dead="token revoked", touched=0)
        for listener in list(self._revoked_listeners):
            listener(token_id)

    def on_revoked(self, listener: Callable[[str], None]) -> None:
        self._revoked_listeners.append(listener)

    async def _still_good(self, grant: Grant) -> None:
        assert grant.token_id is not None
        now = self.clock.now_ms()
        if grant.expires_at is not None and now >= grant.expires_at:
            raise _unauthorized("token expired")
        seen = self._seen.get(grant.token_id)
        started = time.monotonic()
        if seen is None or started - seen.checked >= self.recheck_s:
            row = await self.store.tokens.get(grant.token_id)
            touched = seen.touched if seen is not None else 0
            if row is not None and row.last_used is not None:
                touched = max(touched, row.last_used)
            fresh = _Seen(checked=time.monotonic(), dead=_dead(row, now), touched=touched)
            newer = self._seen.get(grant.token_id)
            if newer is not None and newer.checked > started:
                fresh = newer  # revoked (or re-read) while we read: the later word wins
            self._seen[grant.token_id] = seen = fresh
        if seen.dead is not None:
            raise _unauthorized(seen.dead)
        await self._touch(grant.token_id, seen, now)

    async def _touch(self, token_id: str, seen: _Seen, now: int) -> None:
        if now - seen.touched < self.touch_every_ms:
            return
        seen.touched = now  # before the write: calls arriving meanwhile do not write again
        try:
            await self.store.tokens.touch(token_id, now)
        except Exception as exc:  # a bookkeeping write must never fail the call
            if self.log is not None:
                self.log.warning(
                    "could not record a token's use", token_id=token_id, error=str(exc)
                )
