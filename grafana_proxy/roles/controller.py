"""The controller role: runs the monitoring applications on every endpoint's completed windows."""

from __future__ import annotations

import logging
import threading

from grafana_proxy.monitoring.controller import build_controller
from grafana_proxy.roles import CannotStart
from grafana_proxy.runtime import Runtime

log = logging.getLogger(__name__)


def run_controller(runtime: Runtime, stop: threading.Event) -> None:
    """Pass after pass until ``stop`` is set."""
    try:
        controller = build_controller(runtime, on_pass=runtime.metrics.observe_controller_run)
    except ValueError as error:  # a bad application path or parameter: restarting will not fix it
        raise CannotStart(str(error)) from None
    names = ", ".join(a.name for a in controller.applications)
    log.info("controller: every %g min, applications: %s", controller.config.base_period_minutes, names)
    controller.run_forever(stop)
