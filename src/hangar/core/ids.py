"""Identifiers: ULIDs (time-ordered, 26 chars of Crockford base32) and their short form."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Protocol

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_LEN = 26
SHORT_ID_LEN = 8


class IdGen(Protocol):
    def new_id(self, now_ms: int) -> str: ...


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


class UlidGen:
    """Monotonic ULIDs: ids minted in the same millisecond still sort in mint order."""

    def __init__(self, randbytes: Callable[[int], bytes] | None = None) -> None:
        self._rand = randbytes or os.urandom
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_rand = 0

    def new_id(self, now_ms: int) -> str:
        with self._lock:
            if now_ms <= self._last_ms:
                now_ms = self._last_ms
                rand = self._last_rand + 1
            else:
                rand = int.from_bytes(self._rand(10), "big")
            self._last_ms, self._last_rand = now_ms, rand
        return _encode(now_ms, 10) + _encode(rand & ((1 << 80) - 1), 16)


class SequentialIdGen:
    """Deterministic ids for tests: a ULID-shaped counter."""

    def __init__(self) -> None:
        self._n = 0

    def new_id(self, now_ms: int) -> str:
        self._n += 1
        return _encode(now_ms, 10) + _encode(self._n, 16)


def is_ulid(text: str) -> bool:
    return len(text) == ULID_LEN and all(c in _ALPHABET for c in text.upper())


def short_id(task_id: str) -> str:
    """The last 8 chars: the random tail. The head is timestamp bits, so tasks made in the
    same second would share it (the dir-name collision Multica hit)."""
    return task_id[-SHORT_ID_LEN:].lower()
