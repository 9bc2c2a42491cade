"""``individual_feature_analysis`` (query): MLRun's per-feature drift table. One row per feature of
``feature_stats`` (the reference, "expected"); "actual" comes from ``current_stats`` and the distances
from ``drift_measures``. A missing dict, key or non-numeric value is a null cell, never an error,
because a freshly deployed endpoint has reference stats long before it has live ones."""

from __future__ import annotations

from grafana_proxy.targets.base import Cell, Column, Frame, QueryContext, Table, Target
from grafana_proxy.targets.builtin._common import required_record, stat

COLUMNS: tuple[Column, ...] = (
    Column("feature_name", "string"),
    Column("actual_min", "number"),
    Column("actual_mean", "number"),
    Column("actual_max", "number"),
    Column("expected_min", "number"),
    Column("expected_mean", "number"),
    Column("expected_max", "number"),
    Column("tvd", "number"),
    Column("hellinger", "number"),
    Column("kld", "number"),
)


def query(ctx: QueryContext) -> list[Frame]:
    _, record = required_record(ctx)
    rows: list[list[Cell]] = []
    for feature in record.feature_stats:
        rows.append(
            [
                str(feature),
                stat(record.current_stats, feature, "min"),
                stat(record.current_stats, feature, "mean"),
                stat(record.current_stats, feature, "max"),
                stat(record.feature_stats, feature, "min"),
                stat(record.feature_stats, feature, "mean"),
                stat(record.feature_stats, feature, "max"),
                stat(record.drift_measures, feature, "tvd"),
                stat(record.drift_measures, feature, "hellinger"),
                stat(record.drift_measures, feature, "kld"),
            ]
        )
    return [Table(columns=COLUMNS, rows=rows)]


TARGETS: tuple[Target, ...] = (
    Target(
        name="individual_feature_analysis",
        description="Per-feature actual vs expected stats and drift distances of an endpoint.",
        params=("project", "endpoint_id"),
        query=query,
    ),
)
