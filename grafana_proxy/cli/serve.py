"""``grafana-proxy serve``: the whole service in one command — the api, ingest and controller roles as
child processes of one supervisor (``grafana_proxy.supervisor``)."""

from __future__ import annotations

from typing import Annotated

import typer

from grafana_proxy.cli.common import err, fail, load_settings
from grafana_proxy.cli.preflight import require_free_port, require_free_spool
from grafana_proxy.settings import AuthMode, Settings
from grafana_proxy.stores.base import StoreUnavailable
from grafana_proxy.supervisor import RoleSpec, Supervisor, cli_argv


def prepare(settings: Settings) -> None:
    """What every role needs before it starts, checked once with one clear line on failure: writable
    directories and a database that answers, migrated to the newest schema."""
    from grafana_proxy.datadir import check_data_dirs
    from grafana_proxy.stores.engine import open_stores

    try:
        check_data_dirs(settings)
        open_stores(settings).close()
        if settings.controller_in_serve:  # refuse unknown or uninstallable applications now, in one line
            check_applications(settings)
    except (StoreUnavailable, ValueError) as error:
        raise fail(str(error)) from None


def serve_roles(settings: Settings, host: str, port: int, workers: int = 1) -> list[RoleSpec]:
    """The role specs of ``serve`` in start order: ingest, the controller (unless disabled), api on
    host:port. The supervisor stops them in reverse, so ingest folds what the api accepted last."""
    roles = [RoleSpec("ingest", cli_argv("run", "ingest"))]
    if settings.controller_in_serve:
        roles.append(RoleSpec("controller", cli_argv("run", "controller")))
    api = cli_argv("run", "api", "--host", host, "--port", str(port), "--workers", str(workers))
    roles.append(RoleSpec("api", api, port=port, host=loopback(host)))
    return roles


def loopback(host: str) -> str:
    """An address to reach a server bound to ``host`` from this machine."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def check_applications(settings: Settings) -> None:
    """ValueError naming the problem when an enabled monitoring application cannot be created (an unknown
    name, or Evidently's without its extra), before the server starts rather than inside its lifespan."""
    from grafana_proxy.monitoring.config import MonitoringConfig
    from grafana_proxy.monitoring.registry import discover

    config = MonitoringConfig.from_settings(settings)
    discover(config.application_paths).create(config.applications)


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default: GRAFANA_PROXY_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: GRAFANA_PROXY_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes of the api role.")] = 1,
) -> None:
    """Serve the Grafana datasource, the write and events APIs, ingest and monitoring (one process each)."""
    from grafana_proxy.logs import setup_logging
    from grafana_proxy.observability.status import status_path

    settings = load_settings()
    setup_logging(settings.log_level, settings.log_json)
    host, port = host or settings.host, port or settings.port
    if settings.auth == AuthMode.none:
        err.print(
            "[bold red]WARNING: GRAFANA_PROXY_AUTH=none — access keys are NOT checked. Anyone who can "
            f"reach {host}:{port} can read and write every project. Local experiments only.[/]"
        )
    # One line, before any process starts, for the two usual reasons serve cannot run.
    require_free_port(host, port, "grafana-proxy serve", "--port (or GRAFANA_PROXY_PORT)")
    require_free_spool(settings, "serve", "`grafana-proxy serve`")
    prepare(settings)
    roles = serve_roles(settings, host, port, workers)
    code = Supervisor(roles, state_file=status_path(settings.spool_path, "roles"), json_lines=settings.log_json).run()
    if code:
        raise typer.Exit(code)
