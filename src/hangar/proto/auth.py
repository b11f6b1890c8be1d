"""Authentication on the wire: what ``auth/hello`` answers, and personal tokens (``ainb_…``)
with their params and results (docs/wire-protocol.md#tokens).

A token's plaintext crosses the wire twice only: in ``auth/hello``, and once in the answer
to ``hangar/token_create``. No other answer carries it; the daemon keeps its SHA-256 alone.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from hangar.core.vocab import MAX_DURATION_MS as MAX_MS
from hangar.proto.api import MAX_INT64, Params, Result
from hangar.proto.rows import Row
from hangar.proto.scopes import Scope

__all__ = [
    "TOKEN_NAME_MAX",
    "HelloResult",
    "TokenCreateParams",
    "TokenCreateResult",
    "TokenRevokeParams",
    "TokenRow",
    "TokensListResult",
]

TOKEN_NAME_MAX = 100
#: a token's name: what it is for ("ci", "browser tab", "orchestrator")
TokenName = Annotated[str, msgspec.Meta(min_length=1, max_length=TOKEN_NAME_MAX)]
#: a lifetime, in ms: up to a century
Lifetime = Annotated[int, msgspec.Meta(gt=0, le=MAX_MS)]
#: a moment, in epoch ms
Moment = Annotated[int, msgspec.Meta(gt=0, le=MAX_INT64)]


class HelloResult(Result, kw_only=True):
    """The answer to ``auth/hello``: the scope this connection now carries, and which
    personal token it is (absent for the socket token)."""

    scope: Scope = "admin"
    token_id: str | None = None


class TokenRow(Row, kw_only=True):
    """A personal token as the daemon lists it: never its plaintext, never its digest."""

    id: str
    name: str
    scope: Scope
    created_at: int
    last_used: int | None = None
    expires_at: int | None = None
    revoked_at: int | None = None


class TokenCreateParams(Params, kw_only=True):
    """A new token. ``expires_in_ms`` counts from now on the daemon's clock; ``expires_at``
    is a moment (epoch ms) that must lie ahead. At most one of them; neither: it never
    expires."""

    name: TokenName
    scope: Scope = "read"
    expires_in_ms: Lifetime | None = None
    expires_at: Moment | None = None


class TokenCreateResult(Result, kw_only=True):
    token: TokenRow
    #: shown once: the daemon keeps only its SHA-256
    plaintext: str


class TokensListResult(Result, kw_only=True):
    """Every token, newest first, revoked and expired ones included."""

    tokens: list[TokenRow]


class TokenRevokeParams(Params, kw_only=True):
    token_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
