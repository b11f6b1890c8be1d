"""Migrations apply on both backends, and the migrated schema equals ``schema.metadata``."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from hangar.core.clock import FixedClock
from hangar.core.ids import SequentialIdGen
from hangar.store import Store, create_engine, migrate
from hangar.store.migrate import current_revision, downgrade, head_revision
from hangar.store.schema import CONTRACT_TABLES, POST_V1_TABLES, metadata


def _diff(conn: Connection) -> list[object]:
    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(ctx, metadata))


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def test_migrations_create_every_table(database_url: str) -> None:
    store = await Store.open(database_url, clock=FixedClock(), ids=SequentialIdGen())
    try:
        async with store.engine.connect() as conn:
            tables = await conn.run_sync(_tables)
        assert len(CONTRACT_TABLES) == 16
        assert set(CONTRACT_TABLES) <= tables
        assert set(POST_V1_TABLES) <= tables
        assert await store.health() == {
            "dialect": store.dialect,
            "migrated": True,
            "revision": head_revision(),
        }
        assert head_revision() == "0025"
    finally:
        await store.close()


async def test_migrated_schema_equals_declared_schema(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


async def test_migrate_twice_is_a_no_op_and_downgrade_round_trips(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        await migrate(engine)
        await downgrade(engine, "base")
        assert await current_revision(engine) is None
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) <= {"alembic_version"}
        await migrate(engine)
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


async def test_health_reports_an_unmigrated_database(database_url: str) -> None:
    store = await Store.open(database_url, clock=FixedClock(), ids=SequentialIdGen(), migrate=False)
    try:
        health = await store.health()
        assert health["migrated"] is False
        assert health["revision"] == ""
    finally:
        await store.close()


_BAD_ROWS = [
    # CHECKs must survive SQLite's batch table copies (0010 copies the queue, 0014 issue).
    "INSERT INTO agent_task_queue (id, workspace_id, runtime_id, agent_id, status, created_at)"
    " VALUES ('t', 'w', 'r', 'a', 'bogus', 0)",
    "INSERT INTO issue (id, workspace_id, title, creator_type, creator_id, created_at)"
    " VALUES ('i', 'w', 't', 'robot', 'x', 0)",
    "INSERT INTO issue (id, workspace_id, title, creator_type, creator_id, created_at, priority)"
    " VALUES ('i', 'w', 't', 'member', 'x', 0, 4)",
    "INSERT INTO task_message (task_id, seq, kind, body, created_at)"
    " VALUES ('t', 1, 'shout', 'b', 0)",
    "INSERT INTO daemon_socket_token (id, sha256_token, created_at) VALUES (2, 'x', 0)",
    "INSERT INTO autopilot_run (id, autopilot_id, started_at, status) VALUES ('r', 'a', 0, 'x')",
    "INSERT INTO skill_file (skill_id, path, content, encoding) VALUES ('s', 'p', '', 'utf-16')",
    "INSERT INTO issue_dependency (issue_id, blocker_id, workspace_id, created_at)"
    " VALUES ('i', 'i', 'w', 0)",
]


async def test_check_constraints_hold_after_migrating(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)  # online, not the test template: these are the real migrations
        for bad_sql in _BAD_ROWS:
            with pytest.raises(IntegrityError):
                async with engine.begin() as conn:
                    await conn.execute(text(bad_sql))
    finally:
        await engine.dispose()
