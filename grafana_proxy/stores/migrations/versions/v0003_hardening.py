"""Exact identifier comparison on MariaDB (NO PAD binary collation) and the ingest dead-letter table.

MariaDB's ``utf8mb4_bin`` is PAD SPACE: ``'alpha ' = 'alpha'`` is true, so a key for project "alpha "
read project "alpha". ``utf8mb4_nopad_bin`` compares byte for byte like SQLite and PostgreSQL (MySQL
8 spells it ``utf8mb4_0900_bin``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

TABLES = (
    "endpoints",
    "endpoint_documents",
    "series",
    "points",
    "rollup_10m",
    "rollup_1h",
    "rollup_1d",
    "app_results",
    "access_keys",
    "ground_truth",
    "monitoring_schedules",
)


def _no_pad_collation() -> str | None:
    bind = op.get_bind()
    if bind.dialect.name != "mysql":
        return None
    return "utf8mb4_nopad_bin" if getattr(bind.dialect, "is_mariadb", False) else "utf8mb4_0900_bin"


def upgrade() -> None:
    collation = _no_pad_collation()
    if collation is not None:
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} CONVERT TO CHARACTER SET utf8mb4 COLLATE {collation}")
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("position", sa.String(64), nullable=False),
        sa.Column("payload", sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb"), nullable=False),
        sa.Column("error", sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb"), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("replay_requested_at", sa.BigInteger),
        sa.UniqueConstraint("source", "position", name="uq_dead_letters_position"),
        mysql_charset="utf8mb4",
        mysql_collate=collation or "utf8mb4_nopad_bin",
    )


def downgrade() -> None:
    op.drop_table("dead_letters")
    if _no_pad_collation() is not None:
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
