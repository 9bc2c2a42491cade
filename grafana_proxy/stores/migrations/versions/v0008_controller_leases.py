"""Controller leases: several controllers share the due monitoring work, a unit (an endpoint's windows or
a submitted batch) at a time, each unit held by one controller until its lease expires.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "controller_leases",
        sa.Column("project", sa.String(128), primary_key=True),
        sa.Column("unit", sa.String(80), primary_key=True),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("token", sa.BigInteger, nullable=False),
        sa.Column("expires_ms", sa.BigInteger, nullable=False),
        sa.Column("claimed_at", sa.BigInteger),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",  # NO PAD: "a " != "a", as on the other backends
    )


def downgrade() -> None:
    op.drop_table("controller_leases")
