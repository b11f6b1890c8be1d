"""One FIFO queue of writers per SQLite file, per event loop.

SQLite admits one writer at a time, and its busy handler is not fair: waiters sleep and
retry, so under load one of them can starve past ``busy_timeout`` and fail with "database
is locked". Writers of one process therefore take turns on an ``asyncio.Lock`` first (FIFO),
and the busy timeout is left to arbitrate between processes only. PostgreSQL needs none of
this: its row locks queue fairly.
"""

from __future__ import annotations

import asyncio
import os
import weakref

from sqlalchemy.ext.asyncio import AsyncEngine

_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def lock_key(engine: AsyncEngine) -> str:
    """The file every Store on this database shares (an in-memory one is per engine)."""
    database = engine.url.database
    if not database or database == ":memory:":
        return f"memory:{id(engine)}"
    return os.path.realpath(database)


def writer_lock(key: str) -> asyncio.Lock:
    # Keyed by loop too: an asyncio.Lock must not outlive the loop it first waited on.
    per_loop = _locks.setdefault(asyncio.get_running_loop(), {})
    lock = per_loop.get(key)
    if lock is None:
        lock = per_loop[key] = asyncio.Lock()
    return lock
