"""pandas helpers of the client: reference statistics (computed by the same code as the server's, so the
histograms and bins are the ones drift is measured on) and a DataFrame as a Parquet batch file."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grafana_proxy.model import EndpointRecord

if TYPE_CHECKING:
    import pandas as pd


ROW_GROUP_ROWS = 50_000


def reference_fields(
    df: pd.DataFrame, label: str | None, exclude: Sequence[str], record: EndpointRecord | None
) -> dict[str, Any]:
    """The endpoint fields ``log_reference`` writes: ``feature_stats`` of every column but the label and
    ``exclude``, and feature and label names when the endpoint has none yet."""
    from grafana_proxy.monitoring.stats import reference_stats

    dropped = [c for c in (label, *exclude) if c is not None]
    missing = [c for c in dropped if c not in df.columns]
    if missing:
        raise ValueError(f"column(s) {', '.join(missing)} not in the DataFrame")
    features = df.drop(columns=dropped)
    if features.empty or not len(features.columns):
        raise ValueError("the DataFrame has no rows or no feature columns")
    stats = reference_stats(features)
    fields: dict[str, Any] = {"feature_stats": stats}
    if record is None or not record.feature_names:
        fields["feature_names"] = [str(c) for c in features.columns]
    if label is not None and (record is None or not record.label_names):
        fields["label_names"] = [label]
    return fields


def parquet_file(df: pd.DataFrame) -> Path:
    """The DataFrame in a temporary Parquet file (the caller deletes it)."""
    with tempfile.NamedTemporaryFile(suffix=".parquet", delete=False) as handle:
        path = Path(handle.name)
    # Row groups bound the server's memory while it reads the file (it reads one group at a time).
    df.to_parquet(path, index=False, row_group_size=ROW_GROUP_ROWS)
    return path
