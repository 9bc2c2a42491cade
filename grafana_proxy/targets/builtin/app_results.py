"""``app_results`` (query): verdicts of monitoring applications in the time range. As series (default):
one per (endpoint, application, result name) of the result ``value`` or its ``status``, timed at the
end of each window. As ``format=table``: one row per result with kind and status spelled out, for
tables and state timelines. MLRun never served results through its proxy; Grafana read them from the
TSDB directly, which is what this target replaces."""

from __future__ import annotations

import json
from collections.abc import Sequence

from grafana_proxy.buckets import fit_step
from grafana_proxy.model import AppResult, EndpointFilter, ResultKind, ResultStatus, TimeRange
from grafana_proxy.targets.base import Cell, Column, Frame, QueryContext, Series, Table, Target
from grafana_proxy.targets.builtin._common import choice, enum_name, summaries_for
from grafana_proxy.targets.params import parse_list

TABLE_COLUMNS: tuple[Column, ...] = (
    Column("time", "time"),
    Column("endpoint_id", "string"),
    Column("application", "string"),
    Column("name", "string"),
    Column("kind", "number"),
    Column("kind_name", "string"),
    Column("status", "number"),
    Column("status_name", "string"),
    Column("value", "number"),
    Column("start_infer_time", "time"),
    Column("extra_data", "string"),
)


def _table(results: Sequence[AppResult]) -> Table:
    rows: list[list[Cell]] = [
        [
            r.end_infer_time,
            r.endpoint_uid,
            r.application,
            r.name,
            r.kind,
            enum_name(ResultKind, r.kind),
            r.status,
            enum_name(ResultStatus, r.status),
            r.value,
            r.start_infer_time,
            json.dumps(r.extra_data, sort_keys=True),
        ]
        for r in results
    ]
    return Table(columns=TABLE_COLUMNS, rows=rows)


def _thin(times: list[int], values: list[float | None], step_ms: int, cap: int) -> tuple[list[int], list[float | None]]:
    """Results are sparse (one per window), so points keep their real times; only when a series holds
    more than ``cap`` points is it reduced to the last result per step-sized bucket."""
    if len(times) <= cap or step_ms <= 0:
        return times, values
    step_ms = fit_step(TimeRange(times[0], times[-1] + 1), step_ms, 1, cap)  # aligned buckets: at most ``cap``
    buckets: dict[int, float | None] = {}
    for t, v in zip(times, values, strict=True):
        buckets[t - t % step_ms] = v
    return list(buckets), list(buckets.values())


def _series(ctx: QueryContext, results: Sequence[AppResult], field: str, names: dict[str, str]) -> list[Frame]:
    grouped: dict[tuple[str, str, str], tuple[list[int], list[float | None]]] = {}
    for r in results:  # the store orders by end_infer_time, so each group's times ascend
        times, values = grouped.setdefault((r.endpoint_uid, r.application, r.name), ([], []))
        times.append(r.end_infer_time)
        values.append(float(r.status) if field == "status" else r.value)
    single = len({key[0] for key in grouped}) == 1
    frames: list[Frame] = []
    for (uid, application, name), (times, values) in grouped.items():
        endpoint_name = names.get(uid, "")
        title = f"{application} {name}" if single else f"{endpoint_name or uid} {application} {name}"
        times, values = _thin(times, values, ctx.step_ms, ctx.max_points)
        frames.append(
            Series(
                name=title,
                times=times,
                values=values,
                labels={
                    "endpoint_id": uid,
                    "endpoint_name": endpoint_name,
                    "application": application,
                    "name": name,
                    "field": field,
                },
            )
        )
    return frames


def query(ctx: QueryContext) -> list[Frame]:
    project = ctx.project()
    field = choice(ctx, "field", ("value", "status"), "value")
    fmt = choice(ctx, "format", ("series", "table"), "series")
    uids = parse_list(ctx.param("endpoint_id"))
    if uids:
        summaries_for(ctx, project, uids)  # 404 for an unknown endpoint
    names = parse_list(ctx.param("name"))
    results = ctx.stores.results.query(project, ctx.time_range, uids or None, ctx.param("application"), names or None)
    if fmt == "table":
        return [_table(results)]
    seen = tuple(dict.fromkeys(r.endpoint_uid for r in results))
    # Names only label the series: results of an endpoint without a record keep its uid instead.
    found = ctx.stores.endpoints.summaries(project, EndpointFilter(uids=seen)) if seen else []
    return _series(ctx, results, field, {s.uid: s.name for s in found})


TARGETS: tuple[Target, ...] = (
    Target(
        name="app_results",
        description="Monitoring application results as series (value or status) or as a table.",
        params=("project", "endpoint_id", "application", "name", "field", "format"),
        query=query,
    ),
)
