"""Monitoring pipeline: ground truth labels and the controller's progress per (application, endpoint).

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "ground_truth",
        sa.Column("project", sa.String(128), primary_key=True),
        sa.Column("request_id", sa.String(255), primary_key=True),
        sa.Column("endpoint_uid", sa.String(64)),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("value", sa.JSON(none_as_null=True)),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_table(
        "monitoring_schedules",
        sa.Column("project", sa.String(128), primary_key=True),
        sa.Column("application", sa.String(128), primary_key=True),
        sa.Column("endpoint_uid", sa.String(64), primary_key=True),
        sa.Column("last_analyzed", sa.BigInteger, nullable=False),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )


def downgrade() -> None:
    op.drop_table("monitoring_schedules")
    op.drop_table("ground_truth")
