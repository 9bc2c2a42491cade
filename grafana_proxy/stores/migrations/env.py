"""Alembic environment: runs only "online" against the connection handed over by
``grafana_proxy.stores.engine.upgrade`` (``config.attributes["connection"]``); no alembic.ini needed."""

from __future__ import annotations

from alembic import context

from grafana_proxy.stores.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through grafana_proxy.stores.engine.upgrade (or `grafana-proxy db upgrade`)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things in place; batch mode rebuilds tables for later revisions.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
