"""The stream fold: request ids seen (idempotency across ingest processes), stream-window buckets merged
in the database, and each endpoint's emission mark and totals.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

# NO PAD: "a " != "a", as on the other backends
_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_nopad_bin"}


def upgrade() -> None:
    op.create_table(
        "request_ids",
        sa.Column("project", sa.String(128), primary_key=True),
        sa.Column("request_id", sa.String(255), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("seen_ms", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
        **_MYSQL,
    )
    op.create_index("ix_request_ids_seen", "request_ids", ["seen_ms"])
    op.create_table(
        "window_buckets",
        sa.Column("project", sa.String(128), primary_key=True),
        sa.Column("endpoint_uid", sa.String(64), primary_key=True),
        sa.Column("start_ms", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("latency_sum", sa.Double, nullable=False),
        sa.Column("latency_n", sa.BigInteger, nullable=False),
        sa.Column("errors", sa.BigInteger, nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
        **_MYSQL,
    )
    op.create_table(
        "window_marks",
        sa.Column("project", sa.String(128), primary_key=True),
        sa.Column("endpoint_uid", sa.String(64), primary_key=True),
        sa.Column("emitted_until", sa.BigInteger),
        sa.Column("min_start", sa.BigInteger, nullable=False),
        sa.Column("max_start", sa.BigInteger, nullable=False),
        sa.Column("error_count", sa.BigInteger, nullable=False),
        sa.Column("first_request", sa.BigInteger, nullable=False),
        sa.Column("last_request", sa.BigInteger, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("written_version", sa.BigInteger, nullable=False),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_until", sa.BigInteger),
        **_MYSQL,
    )


def downgrade() -> None:
    op.drop_table("window_marks")
    op.drop_table("window_buckets")
    op.drop_index("ix_request_ids_seen", table_name="request_ids")
    op.drop_table("request_ids")
