"""``grafana-proxy run api|ingest|controller``: one role of the service in this process (``serve`` runs
all three under one supervisor). Settings come from the environment (GRAFANA_PROXY_*), as for serve."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from grafana_proxy.cli.common import fail, load_settings
from grafana_proxy.settings import Settings

app = typer.Typer(help="Run one role of the service: api, ingest or controller.", no_args_is_help=True)


def _role(name: str, body: Callable[[Settings], None]) -> None:
    """Start a role: logging, the data-dir check, then ``body``; a cause that prevents the start is one
    line on stderr (exit 3 when restarting cannot help, 1 when it may, e.g. a database still starting)."""
    from grafana_proxy.datadir import check_data_dirs
    from grafana_proxy.logs import setup_logging
    from grafana_proxy.roles import EXIT_CANNOT_START, CannotStart
    from grafana_proxy.stores.base import StoreUnavailable

    settings = load_settings()
    setup_logging(settings.log_level, settings.log_json)
    try:
        check_data_dirs(settings)
        body(settings)
    except (CannotStart, ValueError) as error:
        raise fail(f"{name}: {error}", EXIT_CANNOT_START) from None
    except StoreUnavailable as error:
        raise fail(f"{name}: {error}") from None


@app.command("api")
def api(
    host: Annotated[str | None, typer.Option(help="Address to bind (default: GRAFANA_PROXY_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: GRAFANA_PROXY_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes answering requests.")] = 1,
) -> None:
    """The datasource, the write API and the events API (no background work)."""
    from grafana_proxy.roles.api import run_api

    _role("api", lambda s: run_api(s, host or s.host, port or s.port, workers))


@app.command("ingest")
def ingest() -> None:
    """Fold accepted events into the stores and the Parquet archive."""
    from grafana_proxy.roles import stop_on_signals
    from grafana_proxy.roles.ingest import run_ingest
    from grafana_proxy.runtime import Runtime

    def body(settings: Settings) -> None:
        stop = stop_on_signals()
        runtime = Runtime.build(settings)
        try:
            run_ingest(runtime, stop)
        finally:
            runtime.close()

    _role("ingest", body)


@app.command("controller")
def controller() -> None:
    """Run the monitoring applications on every endpoint's completed windows, every base period."""
    from grafana_proxy.roles import stop_on_signals
    from grafana_proxy.roles.controller import run_controller
    from grafana_proxy.runtime import Runtime

    def body(settings: Settings) -> None:
        stop = stop_on_signals()
        runtime = Runtime.build(settings)
        try:
            run_controller(runtime, stop)
        finally:
            runtime.close()

    _role("controller", body)
