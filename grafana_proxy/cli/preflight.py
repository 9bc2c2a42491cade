"""Checks a command makes before it starts servers, so an expected failure is one line naming the fix
instead of a traceback from inside a server's start-up."""

from __future__ import annotations

from grafana_proxy.cli.common import fail
from grafana_proxy.settings import Settings


def require_free_port(host: str, port: int, what: str, option: str) -> None:
    """Exit with a one-line error when ``host:port`` cannot be bound (taken, or not an address here)."""
    from grafana_proxy.roles import CannotStart, check_port

    try:
        check_port(host, port, what, option)
    except CannotStart as error:
        raise fail(str(error)) from None


def require_free_spool(settings: Settings, name: str, what: str) -> None:
    """Exit with a one-line error when another process runs a pipeline on the spool ``name``."""
    from grafana_proxy.ingest.pipeline import spool_in_use

    spool = settings.spool_path / name
    if spool_in_use(spool):
        raise fail(
            f"the event spool {spool} is in use by another process (another {what} on this data directory?): "
            "stop it, or give this one its own GRAFANA_PROXY_DATA_DIR (or GRAFANA_PROXY_SPOOL_DIR)"
        )
