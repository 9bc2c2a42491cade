"""The service's roles, each a process: ``api`` (datasource, write API, events API), ``ingest`` (spool
fold, stream windows, Parquet archive) and ``controller`` (monitoring applications). ``grafana-proxy run
<role>`` runs one; ``grafana-proxy serve`` runs all three under ``grafana_proxy.supervisor``.

A role that cannot start raises ``CannotStart`` with one line naming the cause and the fix; the CLI
prints it and exits with ``EXIT_CANNOT_START``, which tells the supervisor that restarting will not help."""

from __future__ import annotations

import errno
import signal
import socket
import threading
from types import FrameType

ROLES = ("api", "ingest", "controller")
EXIT_CANNOT_START = 3


class CannotStart(Exception):
    """The role cannot start for a reason a restart will not fix (port taken, spool held, bad setting)."""


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT (Ctrl-C): the role finishes its current step and exits."""
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return stop


def check_port(host: str, port: int, what: str = "grafana-proxy", option: str = "--port") -> None:
    """``CannotStart`` naming the fix when ``host:port`` cannot be bound (taken, or not an address here)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is fine
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CannotStart(
                    f"port {port} on {host} is already in use (another {what}?): stop that process or pass "
                    f"another {option}"
                ) from None
            raise CannotStart(
                f"cannot listen on {host}:{port} for {what} ({error.strerror}): check {option} and --host"
            ) from None
