"""Bearer tokens, stored only as a SHA-256 digest (docs/wire-protocol.md#tokens)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable

PAT_PREFIX = "ainb_"
DAEMON_PREFIX = "mdt_"
KNOWN_PREFIXES = (PAT_PREFIX, DAEMON_PREFIX)
BODY_BYTES = 32
BODY_LEN = 52  # 32 bytes = 256 bits = 51.2 base32 chars, so 52 once the padding is dropped
DIGEST_LEN = 64

_BODY = re.compile(rf"[A-Z2-7]{{{BODY_LEN}}}")
_HEX = re.compile(rf"[0-9a-f]{{{DIGEST_LEN}}}")


def mint_token(prefix: str, randbytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A fresh plaintext token. Show it once; persist only ``digest(token)``."""
    if prefix not in KNOWN_PREFIXES:
        raise ValueError(f"unknown token prefix {prefix!r}; expected one of {KNOWN_PREFIXES}")
    raw = randbytes(BODY_BYTES)
    if len(raw) != BODY_BYTES:
        raise ValueError(f"random source returned {len(raw)} bytes, need {BODY_BYTES}")
    body = base64.b32encode(raw).decode("ascii").rstrip("=")
    return prefix + body


def digest(plaintext: str) -> str:
    """Lowercase hex SHA-256 of the exact UTF-8 plaintext, prefix included."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def verify(plaintext: str, stored_digest: str) -> bool:
    """Constant-time check of a presented token against a stored digest."""
    # A malformed stored value never matches (and never reaches compare_digest's ASCII rule).
    if _HEX.fullmatch(stored_digest) is None:
        return False
    return hmac.compare_digest(digest(plaintext).encode("ascii"), stored_digest.encode("ascii"))


def looks_like_token(text: str, prefix: str) -> bool:
    """Shape check only (prefix + 52 base32 chars); says nothing about validity."""
    return text.startswith(prefix) and _BODY.fullmatch(text[len(prefix) :]) is not None
