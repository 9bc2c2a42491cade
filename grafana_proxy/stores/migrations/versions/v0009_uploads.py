"""Uploads: batches and training rows the api role staged in the archive storage for the ingest role.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("upload_id", sa.String(32), primary_key=True),
        sa.Column("project", sa.String(128), nullable=False),
        sa.Column("endpoint_uid", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("fmt", sa.String(16), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("params", sa.JSON(none_as_null=True)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("claimed_at", sa.BigInteger),
        sa.Column("finished_at", sa.BigInteger),
        sa.Column("result", sa.JSON(none_as_null=True)),
        sa.Column("error", sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",  # NO PAD: "a " != "a", as on the other backends
    )
    op.create_index("ix_uploads_status", "uploads", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_uploads_status", table_name="uploads")
    op.drop_table("uploads")
