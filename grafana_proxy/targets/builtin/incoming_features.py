"""``incoming_features`` (query): one series per feature of the values an endpoint received, bucketed
to the panel's step. Features are the endpoint's ``feature_names`` (MLRun's source), else the names
of its stored feature series; ``features=a,b`` narrows the set. An endpoint with neither answers
``[]`` as MLRun does. Every selected feature gets a series, empty when the range holds no data, so
the legend does not change with the time range."""

from __future__ import annotations

from grafana_proxy.model import SeriesKind
from grafana_proxy.targets.base import Frame, QueryContext, Series, Target, TargetError
from grafana_proxy.targets.builtin._common import required_record
from grafana_proxy.targets.params import parse_list


def query(ctx: QueryContext) -> list[Frame]:
    project, record = required_record(ctx)
    stored = ctx.stores.series.names(project, record.uid, SeriesKind.feature)
    known = list(dict.fromkeys([*record.feature_names, *stored]))
    default = list(record.feature_names) or stored
    wanted = parse_list(ctx.param("features")) or default
    unknown = [f for f in wanted if f not in known]
    if unknown:
        raise TargetError(f"endpoint {record.uid!r} has no feature {unknown[0]!r}; known features: {', '.join(known)}")
    if not wanted:
        return []
    data = ctx.stores.series.query(
        project, [record.uid], SeriesKind.feature, wanted, ctx.time_range, ctx.step_ms, "avg", ctx.max_points
    )
    by_name = {d.name: d for d in data}
    frames: list[Frame] = []
    for feature in wanted:
        found = by_name.get(feature)
        frames.append(
            Series(
                name=feature,
                times=list(found.times) if found else [],
                values=list(found.values) if found else [],
                labels={"endpoint_id": record.uid, "feature": feature},
            )
        )
    return frames


TARGETS: tuple[Target, ...] = (
    Target(
        name="incoming_features",
        description="Incoming feature values of an endpoint, one series per feature.",
        params=("project", "endpoint_id", "features"),
        query=query,
    ),
)
