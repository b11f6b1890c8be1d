"""Building the async engine: URL normalisation and the SQLite pragmas/locking recipe."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from hangar.store.errors import UnsupportedDatabaseURL

Dialect = Literal["sqlite", "postgresql"]

#: Execution option that marks a connection as a writer (SQLite: BEGIN IMMEDIATE).
WRITE_OPTION = "hangar_write"

SQLITE_BUSY_TIMEOUT_MS = 5000

_SQLITE_DRIVERS = {"sqlite", "sqlite+aiosqlite"}
_PG_DRIVERS = {"postgres", "postgresql", "postgresql+asyncpg"}


def normalize_url(url: str | URL) -> URL:
    """Map the accepted spellings onto the two async drivers the store uses."""
    text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        raise UnsupportedDatabaseURL(_safe(text), "not a database URL") from exc
    name = parsed.drivername
    if name in _SQLITE_DRIVERS:
        return parsed.set(drivername="sqlite+aiosqlite")
    if name in _PG_DRIVERS:
        return parsed.set(drivername="postgresql+asyncpg")
    raise UnsupportedDatabaseURL(
        _safe(text), "use sqlite+aiosqlite:///<path> or postgresql://<host>/<db>"
    )


def _safe(text: str) -> str:
    """The URL without its password, for error messages."""
    try:
        return make_url(text).render_as_string(hide_password=True)
    except ArgumentError:
        return text


def create_engine(url: str | URL) -> AsyncEngine:
    """An async engine for ``url``; SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE writers."""
    parsed = normalize_url(url)
    if parsed.drivername.startswith("sqlite"):
        return _sqlite_engine(parsed)
    # pool_pre_ping: a PostgreSQL restart must not poison the daemon's pool.
    return create_async_engine(parsed, pool_pre_ping=True)


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def _sqlite_engine(url: URL) -> AsyncEngine:
    kwargs: dict[str, Any] = {}
    if _is_memory(url):
        # One shared connection, or every checkout would see its own empty database.
        kwargs["poolclass"] = StaticPool
    engine = create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the driver so SQLAlchemy's "begin" hook below decides it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the write lock up front: a deferred BEGIN that later upgrades
        # its read lock fails with SQLITE_BUSY at once instead of waiting in line.
        if conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


def dialect_of(engine: AsyncEngine) -> Dialect:
    name = engine.dialect.name
    if name == "sqlite":
        return "sqlite"
    if name == "postgresql":
        return "postgresql"
    raise UnsupportedDatabaseURL(str(engine.url), f"dialect {name}")  # pragma: no cover
