"""``data_quality`` (query): per feature, the data-quality shares of the newest analysed window in the
time range (missing, wrong type, out of the training range, unseen categories, from the ``data-quality``
application) and its share of outlying values (``outliers`` application), one row per feature. A check
that does not apply to a feature, or an application that did not run, leaves the cell null."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grafana_proxy import vocabulary as v
from grafana_proxy.model import AppResult
from grafana_proxy.targets.base import Cell, Column, Frame, QueryContext, Table, Target
from grafana_proxy.targets.builtin._common import number, required_record

QUALITY_APP = v.DATA_QUALITY
OUTLIERS_APP = v.OUTLIERS
CHECKS = ("missing_share", "wrong_type_share", "out_of_range_share", "unseen_category_share")
COLUMNS: tuple[Column, ...] = (
    Column("feature_name", "string"),
    *(Column(check, "number") for check in CHECKS),
    Column("outlier_share", "number"),
    Column("time", "time"),
)


def _newest(results: list[AppResult]) -> dict[str, AppResult]:
    """The newest result per name (the store orders by window end)."""
    return {r.name: r for r in results}


def _features(result: AppResult | None) -> Mapping[str, Any]:
    found = None if result is None else result.extra_data.get("features")
    return found if isinstance(found, Mapping) else {}


def query(ctx: QueryContext) -> list[Frame]:
    project, record = required_record(ctx)
    quality = _newest(ctx.stores.results.query(project, ctx.time_range, [record.uid], QUALITY_APP, list(CHECKS)))
    outliers = _newest(ctx.stores.results.query(project, ctx.time_range, [record.uid], OUTLIERS_APP, [v.OUTLIER_SHARE]))
    per_check = {check: _features(quality.get(check)) for check in CHECKS}
    outlier_shares = _features(outliers.get(v.OUTLIER_SHARE))
    ends = [r.end_infer_time for r in (*quality.values(), *outliers.values())]
    names = list(dict.fromkeys([*record.feature_stats, *(n for shares in per_check.values() for n in shares)]))
    rows: list[list[Cell]] = []
    if ends:
        for name in names:
            cells: list[Cell] = [name, *(number(per_check[check].get(name)) for check in CHECKS)]
            rows.append([*cells, number(outlier_shares.get(name)), max(ends)])
    return [Table(columns=COLUMNS, rows=rows)]


TARGETS: tuple[Target, ...] = (
    Target(
        name="data_quality",
        description="Per feature: missing, wrong-type, out-of-range, unseen-category and outlier shares.",
        params=("project", "endpoint_id"),
        query=query,
    ),
)
