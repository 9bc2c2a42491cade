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
