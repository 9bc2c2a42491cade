"""The controller role: runs the monitoring applications on every endpoint's completed windows."""

from __future__ import annotations

import logging
import threading

from grafana_proxy.monitoring.controller import build_controller
from grafana_proxy.observability.status import status_path, write_bytes
from grafana_proxy.roles import CannotStart
from grafana_proxy.runtime import Runtime

log = logging.getLogger(__name__)


def run_controller(runtime: Runtime, stop: threading.Event) -> None:
    """Pass after pass until ``stop`` is set."""
    metrics = runtime.metrics.controller
    exposition = status_path(runtime.ingest.spool_dir, "controller", ".prom")

    def on_pass(seconds: float, failed: list[str]) -> None:
        metrics.observe_run(seconds, failed)
        write_bytes(exposition, metrics.exposition())  # the api role's /metrics serves it

    try:
        controller = build_controller(runtime, on_pass=on_pass)
    except ValueError as error:  # a bad application path or parameter: restarting will not fix it
        raise CannotStart(str(error)) from None
    names = ", ".join(a.name for a in controller.applications)
    log.info("controller: every %g min, applications: %s", controller.config.base_period_minutes, names)
    controller.run_forever(stop)
