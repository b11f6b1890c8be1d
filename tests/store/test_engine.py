"""URL handling and the SQLite connection recipe (WAL, busy timeout, BEGIN IMMEDIATE)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from hangar.core.clock import FixedClock
from hangar.core.ids import SequentialIdGen, UlidGen
from hangar.store import Store, StoreError, UnsupportedDatabaseURL, create_engine
from hangar.store.engine import WRITE_OPTION, normalize_url
from hangar.store.schema import setting


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("sqlite+aiosqlite:////tmp/x.db", "sqlite+aiosqlite"),
        ("sqlite:////tmp/x.db", "sqlite+aiosqlite"),
        ("postgresql://u@h/db", "postgresql+asyncpg"),
        ("postgres://u@h/db", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg"),
    ],
)
def test_accepted_urls_normalise_to_the_async_drivers(url: str, driver: str) -> None:
    assert normalize_url(url).drivername == driver


@pytest.mark.parametrize(
    "url",
    ["mysql://u@h/db", "postgresql+psycopg2://u@h/db", "not a url", "oracle://x"],
)
def test_unsupported_urls_raise_a_store_error(url: str) -> None:
    with pytest.raises(UnsupportedDatabaseURL) as info:
        create_engine(url)
    assert isinstance(info.value, StoreError)


def test_error_message_hides_the_password() -> None:
    with pytest.raises(UnsupportedDatabaseURL) as info:
        create_engine("mysql://user:hunter2@host/db")
    assert "hunter2" not in str(info.value)


async def test_store_open_refuses_an_unsupported_url() -> None:
    with pytest.raises(UnsupportedDatabaseURL):
        await Store.open("mysql://u@h/db", clock=FixedClock(), ids=SequentialIdGen())


@pytest.fixture
def sqlite_url(_sqlite_template: Path, tmp_path: Path) -> str:
    """SQLite-only tests: a migrated copy, without asking ``database_url`` for a PostgreSQL
    database they would skip anyway."""
    path = tmp_path / "hangar.db"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


async def test_sqlite_connections_use_wal_and_a_busy_timeout(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
            assert (await conn.execute(text("PRAGMA synchronous"))).scalar() == 1  # NORMAL
    finally:
        await engine.dispose()


async def test_concurrent_sqlite_read_then_write_transactions_queue_instead_of_failing(
    sqlite_url: str,
) -> None:
    """Two writers (separate engines, as two processes would have) that read first: with a
    deferred BEGIN the second one's lock upgrade fails at once with SQLITE_BUSY; BEGIN
    IMMEDIATE makes it wait its turn on the busy timeout."""
    engines = [create_engine(sqlite_url) for _ in range(2)]
    writers = [e.execution_options(**{WRITE_OPTION: True}) for e in engines]
    try:
        async with writers[0].begin() as conn:
            await conn.execute(setting.insert().values(key="n", value="0"))

        async def bump(writer: AsyncEngine) -> None:
            async with writer.begin() as conn:
                value = int((await conn.execute(select(setting.c.value))).scalar_one())
                await asyncio.sleep(0.05)
                await conn.execute(update(setting).values(value=str(value + 1)))

        await asyncio.gather(*(bump(w) for w in writers))
        async with engines[0].connect() as conn:
            assert (await conn.execute(select(setting.c.value))).scalar_one() == "2"
    finally:
        for e in engines:
            await e.dispose()


async def test_writers_of_one_process_take_turns(sqlite_url: str) -> None:
    """Many writers on one file from one process never meet SQLite's unfair busy handler."""
    stores = [
        await Store.open(sqlite_url, clock=FixedClock(), ids=UlidGen(), migrate=False)
        for _ in range(4)
    ]
    try:
        await asyncio.gather(*(stores[n % 4].socket_token_set(f"{n:064d}") for n in range(200)))
        assert await stores[0].socket_token_digest() is not None
    finally:
        for s in stores:
            await s.close()
