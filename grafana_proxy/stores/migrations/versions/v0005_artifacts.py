"""Artifacts of monitoring applications: one row per stored report, document or plot of a window.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "artifacts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project", sa.String(128), nullable=False),
        sa.Column("endpoint_uid", sa.String(64), nullable=False),
        sa.Column("application", sa.String(128), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("start_infer_time", sa.BigInteger, nullable=False),
        sa.Column("end_infer_time", sa.BigInteger, nullable=False),
        sa.Column("content_type", sa.String(128), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",  # NO PAD: "a " != "a", as on the other backends
    )
    op.create_index("ix_artifacts_endpoint_time", "artifacts", ["project", "endpoint_uid", "end_infer_time"])
    op.create_index("ix_artifacts_time", "artifacts", ["end_infer_time"])


def downgrade() -> None:
    op.drop_index("ix_artifacts_time", table_name="artifacts")
    op.drop_index("ix_artifacts_endpoint_time", table_name="artifacts")
    op.drop_table("artifacts")
