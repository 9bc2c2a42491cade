"""The query path: series revision and newest point time (the cache of closed buckets), and on SQLite
the endpoints table clustered by its key (WITHOUT ROWID), so a project's listing reads its rows in uid
order instead of one table lookup per index entry.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("series", sa.Column("rev", sa.BigInteger, nullable=False, server_default="0"))
    op.add_column("series", sa.Column("last_ts", sa.BigInteger, nullable=True))
    # The 1-day tier's newest ``last_ts`` per series is the series' newest point (one index seek each).
    op.execute(
        "UPDATE series SET last_ts = "
        "(SELECT max(rollup_1d.last_ts) FROM rollup_1d WHERE rollup_1d.series_id = series.id)"
    )
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("endpoints", recreate="always", table_kwargs={"sqlite_with_rowid": False}):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("endpoints", recreate="always", table_kwargs={"sqlite_with_rowid": True}):
            pass
    with op.batch_alter_table("series") as batch:
        batch.drop_column("last_ts")
        batch.drop_column("rev")
