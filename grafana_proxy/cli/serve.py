"""``grafana-proxy serve``: run the HTTP service with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from grafana_proxy.cli.common import err, fail, load_settings
from grafana_proxy.cli.preflight import require_free_port, require_free_spool
from grafana_proxy.settings import AuthMode, Settings
from grafana_proxy.stores.base import StoreUnavailable


def run_server(settings: Settings, host: str, port: int) -> None:
    """Serve ``create_app(settings)`` until interrupted. Shared by ``serve`` and ``demo``."""
    import uvicorn

    from grafana_proxy.app import create_app
    from grafana_proxy.datadir import check_data_dirs
    from grafana_proxy.logs import setup_logging

    setup_logging(settings.log_level, settings.log_json)
    if settings.auth == AuthMode.none:
        err.print(
            "[bold red]WARNING: GRAFANA_PROXY_AUTH=none — access keys are NOT checked. Anyone who can "
            f"reach {host}:{port} can read and write every project. Local experiments only.[/]"
        )
    require_free_port(host, port, "grafana-proxy serve", "--port (or GRAFANA_PROXY_PORT)")
    require_free_spool(settings, "serve", "`grafana-proxy serve`")
    try:
        check_data_dirs(settings)
        if settings.controller_in_serve:  # refuse unknown or uninstallable applications now, in one line
            check_applications(settings)
        app = create_app(settings)
    except (StoreUnavailable, ValueError) as error:
        raise fail(str(error)) from None
    # uvicorn's access log prints the query string; the app's own request log prints method, path and
    # status only, so nothing a client sends (keys travel in headers) can reach a log line.
    # log_config=None keeps setup_logging, so uvicorn's own lines are formatted (and JSON) like ours.
    uvicorn.run(app, host=host, port=port, access_log=False, log_config=None, log_level=settings.log_level.lower())


def check_applications(settings: Settings) -> None:
    """ValueError naming the problem when an enabled monitoring application cannot be created (an unknown
    name, or Evidently's without its extra), before the server starts rather than inside its lifespan."""
    from grafana_proxy.monitoring.config import monitoring_config
    from grafana_proxy.monitoring.registry import discover

    config = monitoring_config(settings)
    discover(config.application_paths).create(config.applications)


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default: GRAFANA_PROXY_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: GRAFANA_PROXY_PORT).")] = None,
) -> None:
    """Serve the Grafana datasource API and the write API."""
    settings = load_settings()
    run_server(settings, host or settings.host, port or settings.port)
