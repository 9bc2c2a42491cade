"""Checks a command makes before it starts servers, so an expected failure is one line naming the fix
instead of a traceback from inside a server's start-up."""

from __future__ import annotations

import errno
import socket

from grafana_proxy.cli.common import fail
from grafana_proxy.settings import Settings


def require_free_port(host: str, port: int, what: str, option: str) -> None:
    """Exit with a one-line error when ``host:port`` cannot be bound (taken, or not an address here)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is fine
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise fail(
                    f"port {port} on {host} is already in use (another {what}?): stop that process or pass "
                    f"another {option}"
                ) from None
            raise fail(
                f"cannot listen on {host}:{port} for {what} ({error.strerror}): check {option} and --host"
            ) from None


def require_free_spool(settings: Settings, name: str, what: str) -> None:
    """Exit with a one-line error when another process runs a pipeline on the spool ``name``."""
    from grafana_proxy.ingest.config import pipeline_config
    from grafana_proxy.ingest.pipeline import spool_in_use

    spool = pipeline_config(settings).spool_dir / name
    if spool_in_use(spool):
        raise fail(
            f"the event spool {spool} is in use by another process (another {what} on this data directory?): "
            "stop it, or give this one its own GRAFANA_PROXY_DATA_DIR (or GRAFANA_PROXY_SPOOL_DIR)"
        )
