"""Opening the stores: engines tuned per backend, Alembic migrations to head, and the ``Stores`` bundle.

Entry points for the rest of the program: ``open_stores(settings)`` (the app, the CLI) and
``upgrade(engine_or_url)`` (``grafana-proxy db upgrade``; also run by ``open_stores``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from grafana_proxy.stores.db import WRITE_OPTION, Database, unavailable

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Arbitrary constant naming the migration lock on PostgreSQL (advisory locks take a bigint).
_PG_MIGRATION_LOCK = 0x67705F6D6967


def create_db_engine(url: str | URL) -> Engine:
    """An engine for SQLite (file, WAL), PostgreSQL (``postgresql+psycopg://``) or MySQL/MariaDB
    (``mysql+pymysql://``). No connection is made here; connection errors surface on first use."""
    parsed = make_url(url) if isinstance(url, str) else url
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend in ("mysql", "mariadb"):
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        # READ COMMITTED like PostgreSQL: a statement after a lock wait sees what the other writer committed.
        return create_engine(parsed, pool_pre_ping=True, pool_recycle=3600, isolation_level="READ COMMITTED")
    return create_engine(parsed, pool_pre_ping=True)


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see _on_begin).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer and vice versa
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Write transactions take the write lock up front: a deferred transaction that reads and then
        # writes fails with SQLITE_BUSY (no waiting) when another writer committed in between.
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _alembic_config(conn: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    return config


def upgrade(engine_or_url: Engine | str | URL) -> None:
    """Migrate the database to the newest revision. Idempotent and safe to call at every start, also by
    several processes at once (a database-level lock serialises them)."""
    engine = engine_or_url if isinstance(engine_or_url, Engine) else create_db_engine(engine_or_url)
    try:
        with engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            _lock(conn)
            try:
                with conn.begin():
                    command.upgrade(_alembic_config(conn), "head")
            finally:
                _unlock(conn)
    except OperationalError as error:
        raise unavailable(engine.url, error) from error
    finally:
        if engine is not engine_or_url:
            engine.dispose()


def head_revision() -> str | None:
    """The newest revision shipped with the package."""
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None before the first upgrade)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _lock(conn: Connection) -> None:
    """Session-level migration lock on the servers; SQLite's BEGIN IMMEDIATE already serialises."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        conn.commit()
    elif conn.dialect.name == "mysql":
        conn.execute(text("SELECT GET_LOCK('grafana_proxy_migrations', 120)"))
        conn.commit()


def _unlock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
        conn.commit()
    elif conn.dialect.name == "mysql":
        conn.execute(text("SELECT RELEASE_LOCK('grafana_proxy_migrations')"))
        conn.commit()


@dataclass(frozen=True)
class SqlStores(Stores):
    """The stores on one SQLAlchemy engine (``open_stores``)."""

    engine: Engine

    def close(self) -> None:
        self.engine.dispose()


def open_stores(settings: Settings) -> SqlStores:
    """Create the data dir, connect, migrate to head and return the stores on one engine.
    Raises ``StoreUnavailable`` when the database cannot be reached. Call ``close()`` when done."""
    from grafana_proxy.stores.artifacts import SqlArtifactStore
    from grafana_proxy.stores.deadletters import SqlDeadLetterStore
    from grafana_proxy.stores.endpoints import SqlEndpointStore
    from grafana_proxy.stores.folds import SqlFoldStore
    from grafana_proxy.stores.ground_truth import SqlGroundTruthStore, SqlScheduleStore
    from grafana_proxy.stores.keys import SqlKeyStore
    from grafana_proxy.stores.leases import SqlLeaseStore
    from grafana_proxy.stores.monitoring import SqlMonitoringStore
    from grafana_proxy.stores.results import SqlResultStore
    from grafana_proxy.stores.series import SqlSeriesStore
    from grafana_proxy.stores.uploads import SqlUploadStore

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(settings.database_url)
    try:
        upgrade(engine)
    except Exception:
        engine.dispose()
        raise
    db = Database(engine)
    series = SqlSeriesStore(db, settings.retention_ms())
    return SqlStores(
        endpoints=SqlEndpointStore(db, series),
        series=series,
        results=SqlResultStore(db),
        keys=SqlKeyStore(db),
        ground_truth=SqlGroundTruthStore(db),
        schedules=SqlScheduleStore(db),
        dead_letters=SqlDeadLetterStore(db),
        monitoring=SqlMonitoringStore(db),
        artifacts=SqlArtifactStore(db),
        folds=SqlFoldStore(db),
        leases=SqlLeaseStore(db),
        uploads=SqlUploadStore(db),
        engine=engine,
    )


def engine_of(stores: Stores) -> Engine:
    """The engine behind a bundle made by ``open_stores`` (tools that run their own SQL)."""
    if not isinstance(stores, SqlStores):
        raise TypeError(f"{type(stores).__name__} has no SQL engine")
    return stores.engine


def close_stores(stores: Stores) -> None:
    """Close every pooled connection of the bundle (tests, CLI commands, app shutdown)."""
    stores.close()
