"""The shared plumbing of the SQL stores: one ``Database`` wrapper around an engine that opens read and
write transactions, translates "the database is not there" into ``StoreUnavailable`` and builds the
dialect-specific statements (upserts, ignore-duplicates inserts) that SQLAlchemy Core does not unify."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.dml import Insert

from grafana_proxy.stores.base import StoreUnavailable

# Execution option read by the SQLite "begin" hook (see engine.py): write transactions start with
# BEGIN IMMEDIATE so that read-then-write sequences never fail half-way with SQLITE_BUSY.
WRITE_OPTION = "gp_write"


def describe_url(url: str | URL) -> str:
    """Where the database is, for error messages: host, port and database name, never credentials."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite file {parsed.database or ':memory:'}"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.get_backend_name()} server {parsed.host or 'localhost'}{port}/{parsed.database or ''}"


def unavailable(url: str | URL, error: OperationalError) -> StoreUnavailable:
    """A ``StoreUnavailable`` naming the server and the driver's first line of complaint. Driver messages
    of psycopg/pymysql/sqlite3 name host, port and reason but never the password of the URL."""
    reason = str(error.orig).strip().splitlines()[0] if error.orig is not None else type(error).__name__
    return StoreUnavailable(f"database unavailable ({describe_url(url)}): {reason[:300]}")


class Database:
    """An engine plus the few helpers every store needs; cheap to share between the stores."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name  # "sqlite", "postgresql" or "mysql" (MariaDB included)
        # Reads on the servers run in autocommit: at READ COMMITTED every statement takes its own
        # snapshot anyway, and BEGIN plus the ROLLBACK on return were two more round trips per read.
        # SQLite keeps its deferred transaction: one WAL snapshot for all statements of a read.
        self._reader = engine if self.dialect == "sqlite" else engine.execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reading: a deferred transaction on SQLite, autocommit on the servers."""
        try:
            with self._reader.connect() as conn:
                yield conn
        except OperationalError as error:
            raise unavailable(self.engine.url, error) from error

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection inside one write transaction, committed when the block ends without error."""
        try:
            with self.engine.connect() as conn:
                conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin():
                    yield conn
        except OperationalError as error:
            raise unavailable(self.engine.url, error) from error

    # -- dialect-specific statements ------------------------------------------------------------------

    def insert(self, table: Table) -> Insert:
        """An INSERT that supports this dialect's conflict clauses."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        if self.dialect == "mysql":
            return mysql.insert(table)
        return sqlite.insert(table)

    def insert_ignore(self, table: Table, keys: Sequence[str]) -> Insert:
        """INSERT that silently skips rows whose unique ``keys`` already exist."""
        if self.dialect == "mysql":
            return mysql.insert(table).prefix_with("IGNORE")
        stmt = self.insert(table)
        return stmt.on_conflict_do_nothing(index_elements=list(keys))  # type: ignore[attr-defined,no-any-return]

    def upsert(
        self, table: Table, keys: Sequence[str], updates: Callable[[Insert], dict[str, Any]] | None = None
    ) -> Insert:
        """INSERT ... ON CONFLICT/DUPLICATE KEY UPDATE. ``updates(stmt)`` returns column -> expression over
        ``self.excluded(stmt, col)`` (the proposed row) and the table's current columns; by default every
        non-key column takes the proposed value. Order matters on MySQL, where later assignments see the
        earlier ones: list a column before the columns whose expressions read it."""
        stmt = self.insert(table)
        if updates is None:
            assignments = {c.name: self.excluded(stmt, c.name) for c in table.columns if c.name not in keys}
        else:
            assignments = updates(stmt)
        if not assignments:
            return self.insert_ignore(table, keys)
        if self.dialect == "mysql":
            return stmt.on_duplicate_key_update(list(assignments.items()))  # type: ignore[attr-defined,no-any-return]
        return stmt.on_conflict_do_update(index_elements=list(keys), set_=assignments)  # type: ignore[attr-defined,no-any-return]

    def excluded(self, stmt: Insert, column: str) -> Any:
        """The proposed value of ``column`` inside an upsert's update clause."""
        if self.dialect == "mysql":
            return stmt.inserted[column]  # type: ignore[attr-defined]
        return stmt.excluded[column]  # type: ignore[attr-defined]
