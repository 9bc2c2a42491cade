"""Migrations: head creates the schema of ``schema.py`` on every backend, and upgrading again is a no-op."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import StoreUnavailable
from grafana_proxy.stores.engine import create_db_engine, current_revision, head_revision, open_stores, upgrade
from grafana_proxy.stores.schema import metadata

TABLES = {"endpoints", "series", "points", "rollup_10m", "rollup_1h", "rollup_1d", "app_results", "access_keys"}


def test_upgrade_creates_schema_and_is_idempotent(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert TABLES <= set(inspect(engine).get_table_names())
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO access_keys (key_id, name, secret_hash, scope, created_at) "
                    "VALUES ('k1', 'n', :h, 'read', 1)"
                ),
                {"h": "0" * 64},
            )
        upgrade(engine)  # second run: nothing to do, data kept
        upgrade(db_url)  # also by URL, with its own engine
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM access_keys")).scalar() == 1
    finally:
        engine.dispose()


def test_migrated_schema_matches_schema_module(db_url: str) -> None:
    """Alembic's autogenerate finds no difference between the migrated database and ``schema.py``:
    same tables, columns, types, nullability, unique constraints and indexes."""
    engine = create_db_engine(db_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        assert diff == []
        indexes = {ix["name"] for ix in inspect(engine).get_indexes("app_results")}
        assert {"ix_app_results_endpoint_time", "ix_app_results_project_time"} <= indexes
    finally:
        engine.dispose()


def test_unreachable_server_is_store_unavailable_without_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://gp_user:s3cret-pw@127.0.0.1:1/nowhere"
    with pytest.raises(StoreUnavailable) as info:
        open_stores(Settings(db_url=url, data_dir=tmp_path))
    message = str(info.value)
    assert "127.0.0.1:1" in message and "s3cret-pw" not in message


def test_sqlite_default_creates_data_dir_and_uses_wal(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "data"
    stores = open_stores(Settings(db_url=None, data_dir=data_dir))
    engine = stores.series.db.engine  # type: ignore[attr-defined]
    try:
        assert (data_dir / "grafana-proxy.db").exists()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    finally:
        engine.dispose()


def test_sqlite_endpoints_are_clustered_by_key(tmp_path: Path) -> None:
    """On SQLite the endpoints table is WITHOUT ROWID: a project's listing (10,000 rows for the
    endpoints panel) reads rows in (project, uid) order instead of one table lookup per index entry."""
    stores = open_stores(Settings(db_url=None, data_dir=tmp_path / "data"))
    try:
        with stores.series.db.engine.connect() as conn:  # type: ignore[attr-defined]
            ddl = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'endpoints'")).scalar_one()
            plan = conn.execute(text("EXPLAIN QUERY PLAN SELECT name FROM endpoints WHERE project = 'p' ORDER BY uid"))
            details = " ".join(str(row[-1]) for row in plan)
    finally:
        stores.close()
    assert "WITHOUT ROWID" in ddl
    assert "USING PRIMARY KEY" in details and "TEMP B-TREE" not in details


def test_existing_series_get_their_newest_point_time_when_migrated(db_url: str, tmp_path: Path) -> None:
    """A database written before ``series.last_ts`` existed: the migration fills it from the 1-day
    tier, so the query cache can keep the closed buckets of old series from the first query on; the
    endpoint records survive the rebuild of their table (SQLite)."""
    from alembic import command

    from grafana_proxy.model import SeriesKind
    from grafana_proxy.stores.base import Point
    from grafana_proxy.stores.engine import _alembic_config

    stores = open_stores(Settings(db_url=db_url, data_dir=tmp_path / "data"))
    try:
        stores.endpoints.upsert("p", "e", {"name": "model"})
        newest = (time.time_ns() // 1_000_000) - 60_000  # inside every tier's retention
        stores.series.write("p", "e", SeriesKind.metric, [Point("m", newest - 3_600_000, 1.0), Point("m", newest, 2.0)])
        engine = stores.series.db.engine  # type: ignore[attr-defined]
        with engine.connect() as conn, conn.begin():
            command.downgrade(_alembic_config(conn), "0005")
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT last_ts FROM series")).scalar_one() == newest
        assert stores.endpoints.get("p", "e") is not None
    finally:
        stores.close()
