"""``metrics`` (query): named metric series (predictions_per_second, latency_avg_1h, custom and drift
metrics, ...) of one, several or all endpoints of a project, one series per endpoint x metric, so a
heatmap or a multi-endpoint graph needs a single target. Each series carries the labels
``endpoint_id``, ``endpoint_name`` and ``metric`` for Infinity's flat rows.

Only series with data in the range are returned: with thousands of endpoints, empty series would
dominate the answer."""

from __future__ import annotations

from typing import cast, get_args

from grafana_proxy.model import SeriesKind
from grafana_proxy.stores.base import Aggregation
from grafana_proxy.targets.base import Frame, QueryContext, Series, Target
from grafana_proxy.targets.builtin._common import choice, endpoint_label, summaries_for
from grafana_proxy.targets.params import parse_bool, parse_list

AGGREGATIONS: tuple[str, ...] = get_args(Aggregation)


def query(ctx: QueryContext) -> list[Frame]:
    project = ctx.project()
    uids = parse_list(ctx.param("endpoint_id"))
    metrics = parse_list(ctx.require("metric"))
    agg = cast(Aggregation, choice(ctx, "agg", AGGREGATIONS, "avg"))
    exclude_routers = parse_bool(ctx.param("filter_router"), "filter_router")
    endpoints = {s.uid: s for s in summaries_for(ctx, project, uids, exclude_routers)}
    # Without an explicit list the store reads every endpoint at once instead of an IN over thousands.
    data = ctx.stores.series.query(
        project, uids or None, SeriesKind.metric, metrics, ctx.time_range, ctx.step_ms, agg, ctx.max_points
    )
    rank = {uid: i for i, uid in enumerate(endpoints)}
    order = {name: i for i, name in enumerate(metrics)}
    selected = sorted(
        (d for d in data if d.endpoint_uid in endpoints),
        key=lambda d: (rank[d.endpoint_uid], order.get(d.name, len(order))),
    )
    single = len(endpoints) == 1
    frames: list[Frame] = []
    for d in selected:
        summary = endpoints[d.endpoint_uid]
        frames.append(
            Series(
                name=d.name if single else f"{endpoint_label(summary)} {d.name}",
                times=d.times,  # the store's lists are not shared with anyone else: no copy
                values=d.values,
                labels={"endpoint_id": summary.uid, "endpoint_name": summary.name, "metric": d.name},
            )
        )
    return frames


TARGETS: tuple[Target, ...] = (
    Target(
        name="metrics",
        description="Metric series of endpoints of a project, one per endpoint x metric.",
        params=("project", "endpoint_id", "metric", "agg", "filter_router"),
        query=query,
    ),
)
