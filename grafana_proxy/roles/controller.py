"""The controller role: runs the monitoring applications on every endpoint's completed windows."""

from __future__ import annotations

import logging
import os
import threading

from grafana_proxy.monitoring.build import build_controller
from grafana_proxy.observability.status import status_path, write_bytes
from grafana_proxy.roles import CannotStart
from grafana_proxy.runtime import Runtime

log = logging.getLogger(__name__)

# The controller's passes are background analysis that can wait a little; on a machine it shares with the
# api and ingest roles, a lower CPU priority keeps a catch-up pass from taking the cores from panel
# queries and acknowledgements. On a machine of its own it changes nothing.
CONTROLLER_NICENESS = 10


def run_controller(runtime: Runtime, stop: threading.Event) -> None:
    """Pass after pass until ``stop`` is set, at a lower CPU priority than the api and ingest roles."""
    try:
        os.nice(CONTROLLER_NICENESS)
    except OSError:  # not permitted here: run at the normal priority
        log.warning("could not lower the controller's CPU priority (nice %d)", CONTROLLER_NICENESS)
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
