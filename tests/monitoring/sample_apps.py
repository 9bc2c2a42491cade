"""User-style applications for the registry and controller tests (loaded by dotted path)."""

from __future__ import annotations

from grafana_proxy.model import ResultKind, ResultStatus
from grafana_proxy.monitoring.applications import (
    ApplicationContext,
    MetricValue,
    MonitoringApplication,
    Output,
    ResultValue,
)


class RowCount(MonitoringApplication):
    name = "row-count"

    def do_tracking(self, context: ApplicationContext) -> list[Output]:
        rows = float(len(context.events))
        return [
            MetricValue("rows", rows),
            ResultValue("rows", rows, ResultKind.mm_app_anomaly, ResultStatus.no_detection),
        ]


class Broken(MonitoringApplication):
    name = "broken"

    def do_tracking(self, context: ApplicationContext) -> list[Output]:
        raise RuntimeError("model registry unreachable")


class NotFinite(MonitoringApplication):
    name = "not-finite"

    def do_tracking(self, context: ApplicationContext) -> list[Output]:
        return [MetricValue("bad", float("nan"))]


class NotAnApplication:
    name = "nope"


class Recorder(MonitoringApplication):
    """Appends "<pid> <endpoint> <window start>" to the file named by ``GP_TEST_RECORD`` (O_APPEND: lines
    of several processes never interleave) for every window it is given, then takes ``GP_TEST_SECONDS``."""

    name = "recorder"

    def do_tracking(self, context: ApplicationContext) -> list[Output]:
        import os
        import time

        line = f"{os.getpid()} {context.endpoint.uid} {context.start_infer_time}\n".encode()
        fd = os.open(os.environ["GP_TEST_RECORD"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        time.sleep(float(os.environ.get("GP_TEST_SECONDS", "0")))
        rows = float(len(context.events))
        return [ResultValue("rows", rows, ResultKind.mm_app_anomaly, ResultStatus.no_detection)]
