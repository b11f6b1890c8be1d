"""Shared fixtures. Database-backed tests run on SQLite and on PostgreSQL.

PostgreSQL comes from ``HANGAR_TEST_POSTGRES_URL`` (default: the local trust-auth server).
When it is unreachable the PostgreSQL half is skipped, unless ``HANGAR_REQUIRE_POSTGRES=1``
(CI sets it), in which case that is a failure: CI never goes green by skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from hangar.core.paths import HOME_ENV

# A busy CI machine stalls the scheduler now and then: a per-example deadline (or the
# "generation is slow" health check) would turn such a stall into DeadlineExceeded/Flaky.
# Tests' own @settings override only what they name, so this applies to every property test.
settings.register_profile("hangar", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("hangar")

PG_URL = os.environ.get("HANGAR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("HANGAR_REQUIRE_POSTGRES") == "1"
BACKENDS = [b.strip() for b in os.environ.get("HANGAR_TEST_BACKENDS", "sqlite,postgres").split(",")]


def _run_pg(statements: list[str]) -> None:
    import asyncio

    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(PG_URL, timeout=5)
        try:
            for sql in statements:
                await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(go())


_pg_state: dict[str, object] = {}


def _pg_available() -> bool:
    if "ok" not in _pg_state:
        try:
            _run_pg(["SELECT 1"])
            _pg_state["ok"] = True
        except Exception as exc:  # any connection failure means "not here"
            _pg_state["ok"] = False
            _pg_state["why"] = repr(exc)
    return bool(_pg_state["ok"])


def _with_db(url: str, db: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{db}"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL (not yet migrated) on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'hangar.db'}"
        return
    if not _pg_available():
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL required but unreachable: {_pg_state.get('why')}")
        pytest.skip(f"PostgreSQL unreachable: {_pg_state.get('why')}")
    name = f"hangar_t_{uuid.uuid4().hex[:12]}"
    _run_pg([f'CREATE DATABASE "{name}"'])
    try:
        yield _with_db(PG_URL, name)
    finally:
        _run_pg([f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])


@pytest.fixture
def hangar_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An isolated Hangar home for this test (short path: unix sockets cap at 108 bytes)."""
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="hg-", dir="/tmp"))
    monkeypatch.setenv(HOME_ENV, str(home))
    yield home
    import shutil

    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def git_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Git that ignores the user's config and can commit."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.invalid")
