"""Per-project monitoring: enabled and base period, the applications with their parameters and
endpoints, what the controller did with each, and submitted batches.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_MYSQL: dict[str, Any] = {
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_nopad_bin",
}  # NO PAD: "a " != "a", as on the other backends
_LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "monitoring_projects",
        sa.Column("project", sa.String(128), primary_key=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("base_period_minutes", sa.Double, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        **_MYSQL,
    )
    op.create_table(
        "monitoring_applications",
        sa.Column("project", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("application", sa.String(255), nullable=False),
        sa.Column("params", sa.JSON(none_as_null=True)),
        sa.Column("endpoints", sa.JSON(none_as_null=True)),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        **_MYSQL,
    )
    op.create_table(
        "monitoring_app_status",
        sa.Column("project", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("last_run", sa.BigInteger),
        sa.Column("last_window_end", sa.BigInteger),
        sa.Column("windows", sa.BigInteger, nullable=False),
        sa.Column("results", sa.BigInteger, nullable=False),
        sa.Column("errors", sa.BigInteger, nullable=False),
        sa.Column("last_error", _LONG_TEXT),
        sa.Column("last_error_at", sa.BigInteger),
        **_MYSQL,
    )
    op.create_table(
        "monitoring_batches",
        sa.Column("project", sa.String(128), primary_key=True),
        sa.Column("batch_id", sa.String(64), primary_key=True),
        sa.Column("endpoint_uid", sa.String(64), nullable=False),
        sa.Column("start_ms", sa.BigInteger, nullable=False),
        sa.Column("end_ms", sa.BigInteger, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("submitted_at", sa.BigInteger, nullable=False),
        sa.Column("analysed_at", sa.BigInteger),
        **_MYSQL,
    )


def downgrade() -> None:
    op.drop_table("monitoring_batches")
    op.drop_table("monitoring_app_status")
    op.drop_table("monitoring_applications")
    op.drop_table("monitoring_projects")
