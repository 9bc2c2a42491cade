"""``project_summary`` (query): one row of project KPIs for stat panels. Routers are left out because
their traffic is also counted by the endpoints behind them (MLRun's "duplicated KPIs" problem)."""

from __future__ import annotations

from grafana_proxy.model import EndpointFilter, ResultStatus
from grafana_proxy.targets.base import Column, Frame, QueryContext, Table, Target

COLUMNS: tuple[Column, ...] = (
    Column("endpoints", "number"),
    Column("predictions_per_second", "number"),
    Column("latency_avg_1h", "number"),
    Column("error_count", "number"),
    Column("drift_detected", "number"),
    Column("drift_potential", "number"),
)


def query(ctx: QueryContext) -> list[Frame]:
    summaries = ctx.stores.endpoints.summaries(ctx.project(), EndpointFilter(exclude_routers=True))
    latencies = [s.latency_avg_1h for s in summaries if s.latency_avg_1h is not None]
    row = [
        len(summaries),
        sum((s.predictions_per_second or 0.0 for s in summaries), 0.0),
        # A mean over the endpoints that report latency; null (not 0) when none does.
        sum(latencies) / len(latencies) if latencies else None,
        sum(s.error_count for s in summaries),
        sum(1 for s in summaries if s.drift_status == ResultStatus.detected),
        sum(1 for s in summaries if s.drift_status == ResultStatus.potential_detection),
    ]
    return [Table(columns=COLUMNS, rows=[row])]


TARGETS: tuple[Target, ...] = (
    Target(
        name="project_summary",
        description="Endpoint count, predictions/s, mean latency, errors and drift counts of a project.",
        params=("project",),
        query=query,
    ),
)
