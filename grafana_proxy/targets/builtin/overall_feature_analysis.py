"""``overall_feature_analysis`` (query): MLRun's one-row drift summary, read from the aggregate keys
of ``drift_measures`` (``tvd_sum``, ``tvd_mean``, ...). No rows while ``drift_measures`` is empty (no
drift computed yet); a missing aggregate key is a null cell."""

from __future__ import annotations

from grafana_proxy.targets.base import Cell, Column, Frame, QueryContext, Table, Target
from grafana_proxy.targets.builtin._common import required_record, stat

KEYS: tuple[str, ...] = ("tvd_sum", "tvd_mean", "hellinger_sum", "hellinger_mean", "kld_sum", "kld_mean")
COLUMNS: tuple[Column, ...] = tuple(Column(key, "number") for key in KEYS)


def query(ctx: QueryContext) -> list[Frame]:
    _, record = required_record(ctx)
    rows: list[list[Cell]] = []
    if record.drift_measures:
        rows.append([stat(record.drift_measures, key) for key in KEYS])
    return [Table(columns=COLUMNS, rows=rows)]


TARGETS: tuple[Target, ...] = (
    Target(
        name="overall_feature_analysis",
        description="Sums and means of the drift distances over all features of an endpoint.",
        params=("project", "endpoint_id"),
        query=query,
    ),
)
