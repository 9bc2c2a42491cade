"""``grafana-proxy db upgrade``: migrate the database to the newest schema."""

from __future__ import annotations

import typer

from grafana_proxy.cli.common import err, fail, load_settings
from grafana_proxy.stores.base import StoreUnavailable
from grafana_proxy.stores.db import describe_url

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Apply the Alembic migrations up to head (idempotent; the server also does this at start)."""
    from grafana_proxy.stores.engine import create_db_engine, current_revision
    from grafana_proxy.stores.engine import upgrade as run_upgrade

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(settings.database_url)
    try:
        run_upgrade(engine)
        revision = current_revision(engine)
    except StoreUnavailable as error:
        raise fail(str(error)) from None
    finally:
        engine.dispose()
    err.print(f"{describe_url(settings.database_url)} is at revision [bold]{revision}[/]")
