"""The PostgreSQL column: a fresh database on the local server holding what Q1-Q4 read, copied row for
row from the benchmark's SQLite file, so both backends (and Prometheus) answer from the same samples.

Copied: every endpoint record, document, series row and access key (so the same read key works), and
the points and rollup rows of the series the queries read (``METRIC`` of project ``bench``; Prometheus
holds exactly that metric too). The schema comes from the project's own migrations (``open_stores``)."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from benchmarks import seeddata
from grafana_proxy.settings import Settings
from grafana_proxy.stores.engine import close_stores, open_stores

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
WHOLE_TABLES = ("endpoints", "endpoint_documents", "series", "access_keys")
SERIES_TABLES = ("points", "rollup_10m", "rollup_1h", "rollup_1d")
CHUNK = 50_000


@dataclass(frozen=True)
class Copied:
    url: str  # SQLAlchemy URL of the database
    rows: dict[str, int]
    seconds: float


@contextmanager
def scratch_database(admin_url: str = ADMIN_URL) -> Iterator[str]:
    """A fresh, empty database of the run's own on the server of ``admin_url`` (its libpq URL is
    yielded), dropped with everything in it when the block ends."""
    name = f"gp_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlalchemy_url(libpq_url: str) -> str:
    """The URL our settings take (``db_url``) for a libpq one: the psycopg 3 driver named."""
    return libpq_url.replace("postgresql://", "postgresql+psycopg://", 1)


@contextmanager
def postgres_copy(sqlite_db: Path, work: Path, admin_url: str = ADMIN_URL) -> Iterator[Copied]:
    """A database with the copy, dropped when the block ends."""
    with scratch_database(admin_url) as pg_url:
        began = time.perf_counter()
        url = sqlalchemy_url(pg_url)
        close_stores(open_stores(Settings(db_url=url, data_dir=work / "pg-migrate")))
        rows = _copy(sqlite_db, pg_url)
        yield Copied(url, rows, time.perf_counter() - began)


def _columns(src: sqlite3.Connection, dst: psycopg.Connection, table: str) -> list[str]:
    ours = [row[1] for row in src.execute(f"PRAGMA table_info({table})")]
    theirs = {
        row[0]
        for row in dst.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND table_schema = 'public'",
            (table,),
        )
    }
    return [c for c in ours if c in theirs]


def _copy(sqlite_db: Path, pg_url: str) -> dict[str, int]:
    src = sqlite3.connect(f"file:{sqlite_db}?mode=ro", uri=True)
    rows: dict[str, int] = {}
    try:
        with psycopg.connect(pg_url) as dst:
            types = _column_types(dst)
            for table in WHOLE_TABLES:
                rows[table] = _copy_table(src, dst, table, "", (), types)
            wanted = (
                "series_id IN (SELECT id FROM series WHERE project = ? AND kind = 'metric' AND name = ?)",
                (seeddata.PROJECT, seeddata.METRIC),
            )
            for table in SERIES_TABLES:
                rows[table] = _copy_table(src, dst, table, *wanted, types)
            dst.execute("SELECT setval(pg_get_serial_sequence('series', 'id'), (SELECT max(id) FROM series))")
            dst.commit()
            dst.autocommit = True
            dst.execute("ANALYZE")
    finally:
        src.close()
    return rows


def _column_types(dst: psycopg.Connection) -> dict[tuple[str, str], str]:
    return {
        (table, column): kind
        for table, column, kind in dst.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'"
        )
    }


def _copy_table(
    src: sqlite3.Connection,
    dst: psycopg.Connection,
    table: str,
    where: str,
    params: tuple[str, ...],
    types: dict[tuple[str, str], str],
) -> int:
    columns = _columns(src, dst, table)
    booleans = [i for i, c in enumerate(columns) if types.get((table, c)) == "boolean"]
    names = ", ".join(columns)
    cursor = src.execute(f"SELECT {names} FROM {table}" + (f" WHERE {where}" if where else ""), params)
    count = 0
    with dst.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        while batch := cursor.fetchmany(CHUNK):
            for row in batch:
                if booleans:
                    row = tuple(bool(v) if i in booleans and v is not None else v for i, v in enumerate(row))
                copy.write_row(row)
            count += len(batch)
    return count
