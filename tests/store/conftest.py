"""Store fixtures. Every database test runs on SQLite and PostgreSQL via ``database_url``.

Migrating online costs ~0.2-0.4 s per database (PostgreSQL: ~100 statements, two round trips
each; ``CREATE DATABASE … TEMPLATE`` measured no faster). So SQLite tests start from a file
copy of a template migrated once per session, and PostgreSQL tests replay the migrations'
offline DDL script (``migrate.upgrade_sql``) in one round trip. ``test_migrations.py`` still
migrates empty databases online, and checks the result against the declared schema.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from hangar.core.clock import FixedClock
from hangar.core.ids import IdGen, SequentialIdGen
from hangar.proto.rows import AgentRow, RuntimeRow, WorkspaceRow
from hangar.store import Store, create_engine, migrate
from hangar.store.migrate import upgrade_sql

T0 = 1_767_225_600_000


def _migrate_url(url: str) -> None:
    async def go() -> None:
        engine = create_engine(url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(go())


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "hangar.db"
    _migrate_url(f"sqlite+aiosqlite:///{path}")
    return path  # dispose() closed the last connection, which folds the WAL into the file


@pytest.fixture(scope="session")
def _pg_script() -> str:
    return upgrade_sql()


def _run_script(url: str, script: str) -> None:
    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            await conn.execute(script)  # no arguments: one simple-protocol round trip
        finally:
            await conn.close()

    asyncio.run(go())


@pytest.fixture
def migrated_url(database_url: str, request: pytest.FixtureRequest) -> str:
    """``database_url``, already migrated to head."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        assert url.database is not None
        shutil.copyfile(template, url.database)
    else:
        script: str = request.getfixturevalue("_pg_script")
        _run_script(url.set(drivername="postgresql").render_as_string(False), script)
    return database_url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def ids() -> IdGen:
    return SequentialIdGen()


@pytest.fixture
async def store(migrated_url: str, clock: FixedClock, ids: IdGen) -> AsyncIterator[Store]:
    s = await Store.open(migrated_url, clock=clock, ids=ids, migrate=False)
    try:
        yield s
    finally:
        await s.close()


@dataclass
class World:
    """One workspace with a runtime and an agent: the usual starting point."""

    store: Store
    clock: FixedClock
    ws: WorkspaceRow
    runtime: RuntimeRow
    agent: AgentRow

    @property
    def creator(self) -> str:
        return "member:tester"


async def make_world(store: Store, clock: FixedClock, slug: str = "acme") -> World:
    ws = await store.workspace_create(slug, slug.title())
    runtime = await store.runtime_ensure(ws.id, f"daemon-{slug}", "claude")
    agent = await store.agent_create(ws.id, name="bot", runtime_id=runtime.id)
    return World(store, clock, ws, runtime, agent)


@pytest.fixture
async def world(store: Store, clock: FixedClock) -> World:
    return await make_world(store, clock)


async def advance(store: Store, ws_id: str, task_id: str, status: str) -> None:
    """Walk one specific task forward along the FSM (queued → dispatched → running)."""
    path = ["dispatched", "running"]
    for step in path[: path.index(status) + 1]:
        outcome = await store.task_transition(ws_id, task_id, step)
        assert outcome.ok, outcome
