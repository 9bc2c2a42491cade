"""Initial schema: endpoints (+ their JSON documents), series, points, rollup tiers, results, access keys.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

The tables are spelled out here instead of calling ``metadata.create_all``: a revision must keep
creating the schema of its own time after ``schema.py`` moves on. ``tests/stores/test_migrations.py``
checks that head equals ``schema.py`` on every backend.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_json = sa.JSON(none_as_null=True)
_long_text = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def _rollup(name: str) -> None:
    op.create_table(
        name,
        sa.Column("series_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("bucket", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("sum", sa.Double, nullable=False),
        sa.Column("min", sa.Double, nullable=False),
        sa.Column("max", sa.Double, nullable=False),
        sa.Column("last", sa.Double, nullable=False),
        sa.Column("last_ts", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )


def upgrade() -> None:
    op.create_table(
        "endpoints",
        sa.Column("project", sa.String(128), primary_key=True),
        sa.Column("uid", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("function_uri", sa.String(512), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("model_class", sa.String(255), nullable=False),
        sa.Column("drift_status", sa.Integer, nullable=False),
        sa.Column("error_count", sa.BigInteger, nullable=False),
        sa.Column("first_request", sa.BigInteger),
        sa.Column("last_request", sa.BigInteger),
        sa.Column("endpoint_type", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("monitoring_mode", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("sampling_percentage", sa.Double, nullable=False),
        sa.Column("predictions_per_second", sa.Double),
        sa.Column("latency_avg_5m", sa.Double),
        sa.Column("latency_avg_1h", sa.Double),
        sa.Column("predictions_count_5m", sa.Double),
        sa.Column("predictions_count_1h", sa.Double),
        sa.Column("accuracy", sa.Double),
        sa.Column("model_uri", _long_text, nullable=False),
        sa.Column("labels", _json),
        sa.Column("feature_names", _json),
        sa.Column("label_names", _json),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_table(
        "endpoint_documents",
        sa.Column("project", sa.String(128), primary_key=True),
        sa.Column("uid", sa.String(64), primary_key=True),
        sa.Column("feature_stats", _json),
        sa.Column("current_stats", _json),
        sa.Column("drift_measures", _json),
        sa.Column("metrics", _json),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_table(
        "series",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(128), nullable=False),
        sa.Column("endpoint_uid", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.UniqueConstraint("project", "endpoint_uid", "kind", "name", name="uq_series_key"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_table(
        "points",
        sa.Column("series_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("ts", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("value", sa.Double, nullable=False),
        sqlite_with_rowid=False,
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    for name in ("rollup_10m", "rollup_1h", "rollup_1d"):
        _rollup(name)
    op.create_table(
        "app_results",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(128), nullable=False),
        sa.Column("endpoint_uid", sa.String(64), nullable=False),
        sa.Column("application", sa.String(128), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.Integer, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("start_infer_time", sa.BigInteger, nullable=False),
        sa.Column("end_infer_time", sa.BigInteger, nullable=False),
        sa.Column("extra_data", _json),
        sa.UniqueConstraint(
            "project", "endpoint_uid", "application", "name", "end_infer_time", name="uq_app_results_key"
        ),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_index("ix_app_results_endpoint_time", "app_results", ["project", "endpoint_uid", "end_infer_time"])
    op.create_index("ix_app_results_project_time", "app_results", ["project", "end_infer_time"])
    op.create_table(
        "access_keys",
        sa.Column("key_id", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("secret_hash", sa.CHAR(64), nullable=False),
        sa.Column("projects", _json),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("revoked_at", sa.BigInteger),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )


def downgrade() -> None:
    tables = ("access_keys", "app_results", "rollup_1d", "rollup_1h", "rollup_10m", "points", "series")
    for name in (*tables, "endpoint_documents", "endpoints"):
        op.drop_table(name)
