"""Personal tokens: create (the plaintext is answered once), list, revoke
(docs/wire-protocol.md#tokens). Only ``admin`` may call these (``proto/scopes.py``)."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from hangar.core import tokens
from hangar.core.clock import Clock
from hangar.daemon.rpc.auth import TokenGate
from hangar.daemon.rpc.common import Routes, invalid, not_found, routes
from hangar.proto import api, auth, calls
from hangar.store import Store

if TYPE_CHECKING:
    from hangar.daemon.rpc.server import Connection

__all__ = ["TokenRoutes", "check_name"]


def check_name(name: str) -> str:
    """The name stripped; refused when empty or holding a control character."""
    name = name.strip()
    if not name:
        raise invalid("a token's name must not be empty")
    for ch in name:
        if unicodedata.category(ch) == "Cc":
            raise invalid(f"a token's name must be one line without control characters: {ch!r}")
    return name


class TokenRoutes:
    def __init__(self, store: Store, gate: TokenGate, clock: Clock) -> None:
        self.store = store
        self.gate = gate
        self.clock = clock

    def routes(self) -> Routes:
        return routes(
            (calls.TOKEN_CREATE, self.create),
            (calls.TOKENS_LIST, self.list),
            (calls.TOKEN_REVOKE, self.revoke),
        )

    async def create(self, conn: Connection, p: auth.TokenCreateParams) -> auth.TokenCreateResult:
        name = check_name(p.name)
        if p.expires_in_ms is not None and p.expires_at is not None:
            raise invalid("give expires_in_ms or expires_at, not both")
        now = self.clock.now_ms()
        expires_at = p.expires_at
        if p.expires_in_ms is not None:
            expires_at = now + p.expires_in_ms
        if expires_at is not None and expires_at <= now:
            raise invalid(
                f"expires_at {expires_at} is not in the future (now is {now}): "
                "a token must expire after it is made"
            )
        plaintext = tokens.mint_token(tokens.PAT_PREFIX)
        row = await self.store.tokens.create(
            name=name,
            scope=p.scope,
            digest=tokens.digest(plaintext),
            expires_at=expires_at,
            created_at=now,
        )
        return auth.TokenCreateResult(token=row, plaintext=plaintext)

    async def list(self, conn: Connection, p: api.Empty) -> auth.TokensListResult:
        return auth.TokensListResult(tokens=await self.store.tokens.list())

    async def revoke(self, conn: Connection, p: auth.TokenRevokeParams) -> auth.TokenRow:
        row = await self.store.tokens.revoke(p.token_id)
        if row is None:
            raise not_found("token", p.token_id)
        self.gate.revoked(row.id)  # refused from now on, its connections closed
        return row
