"""``list_metrics`` (search): the metric series and/or application result names recorded for an
endpoint, for the METRIC variable. ``kind=metric`` lists only metric series (what the ``metrics``
target draws), ``kind=result`` only application results (what ``app_results`` draws, optionally of
one ``application``); without ``kind`` both, as MLRun 1.8 lists them. ``endpoint_id`` may be a
multi-value selection; the names of all selected endpoints are merged."""

from __future__ import annotations

from grafana_proxy.model import SeriesKind
from grafana_proxy.targets.base import QueryContext, Target
from grafana_proxy.targets.builtin._common import choice, get_record
from grafana_proxy.targets.params import parse_list

KINDS = ("all", "metric", "result")


def search(ctx: QueryContext) -> list[str]:
    project = ctx.project()
    kind = choice(ctx, "kind", KINDS, "all")
    applications: list[str | None] = [*parse_list(ctx.param("application"))] or [None]
    names: set[str] = set()
    for uid in parse_list(ctx.require("endpoint_id")):
        get_record(ctx, project, uid)
        if kind in ("all", "metric"):
            names.update(ctx.stores.series.names(project, uid, SeriesKind.metric))
        if kind in ("all", "result"):
            for application in applications:
                names.update(ctx.stores.results.names(project, uid, application))
    return sorted(names)


TARGETS: tuple[Target, ...] = (
    Target(
        name="list_metrics",
        description="Metric and/or result names of an endpoint (kind=metric|result, application).",
        params=("project", "endpoint_id", "kind", "application"),
        search=search,
    ),
)
