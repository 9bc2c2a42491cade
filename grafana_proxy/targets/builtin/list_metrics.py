"""``list_metrics`` (search): the metric series and application result names recorded for an endpoint,
for the METRIC variable (MLRun 1.8 lists metrics and results together the same way). ``endpoint_id``
may be a multi-value selection; the names of all selected endpoints are merged."""

from __future__ import annotations

from grafana_proxy.model import SeriesKind
from grafana_proxy.targets.base import QueryContext, Target
from grafana_proxy.targets.builtin._common import get_record
from grafana_proxy.targets.params import parse_list


def search(ctx: QueryContext) -> list[str]:
    project = ctx.project()
    names: set[str] = set()
    for uid in parse_list(ctx.require("endpoint_id")):
        get_record(ctx, project, uid)
        names.update(ctx.stores.series.names(project, uid, SeriesKind.metric))
        names.update(ctx.stores.results.names(project, uid))
    return sorted(names)


TARGETS: tuple[Target, ...] = (
    Target(
        name="list_metrics",
        description="Metric and result names of an endpoint.",
        params=("project", "endpoint_id"),
        search=search,
    ),
)
