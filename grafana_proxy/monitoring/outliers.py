"""Outlier rows of a window: rows with at least one numerical feature beyond Tukey's "far out" fences
of the reference, ``q1 - 3·IQR`` and ``q3 + 3·IQR`` (quartiles of the training data, kept in
``feature_stats`` as ``25%`` and ``75%``).

Why this score: it needs only the stored reference quartiles (no training rows, no model), costs a few
vectorised comparisons per feature and row, and the quartiles are robust to outliers in the training
data themselves. For normally distributed data the fence lies at 4.72 standard deviations, so a clean
window has about 2.4e-6 outlying values per feature (5e-5 of the rows with 20 features): a share of a
percent means rows the model never saw the like of. Features with no spread (IQR 0) fall back to half
the training range; constant features are left out (a new value there is an out-of-range value, which
the data-quality application reports). Multivariate scores (Mahalanobis distance, isolation forests)
would need the training rows or their covariance and cost far more per window."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from grafana_proxy.monitoring.stats import as_float_array, reference_kind

if TYPE_CHECKING:
    import pandas as pd

FENCE = 3.0  # Tukey's "far out"


@dataclass
class OutlierReport:
    rows: int
    outlier_rows: int
    features: dict[str, float] = field(default_factory=dict)  # share of rows outlying on each feature

    @property
    def share(self) -> float | None:
        return self.outlier_rows / self.rows if self.rows else None


def fences(stats: Mapping[str, Any], k: float = FENCE) -> tuple[float, float] | None:
    """(low, high) of a numerical reference feature, or None when it has no usable spread."""
    if reference_kind(stats) != "numerical":
        return None
    q1, q3, low, high = (stats.get(key) for key in ("25%", "75%", "min", "max"))
    if q1 is None or q3 is None:
        return None
    spread = float(q3) - float(q1)
    if spread <= 0 and low is not None and high is not None:
        spread = (float(high) - float(low)) / 2
    if spread <= 0 or not np.isfinite(spread):
        return None
    return float(q1) - k * spread, float(q3) + k * spread


def find_outliers(
    features: pd.DataFrame, reference: Mapping[str, Mapping[str, Any]], k: float = FENCE
) -> OutlierReport:
    rows = len(features)
    any_far = np.zeros(rows, dtype=bool)
    report = OutlierReport(rows=rows, outlier_rows=0)
    for name, stats in reference.items():
        bounds = fences(stats, k)
        if bounds is None or name not in features.columns:
            continue
        x = as_float_array(features[name])
        far = (x < bounds[0]) | (x > bounds[1])  # NaN compares False: missing values are not outliers
        any_far |= far
        report.features[name] = float(far.sum()) / rows if rows else 0.0
    report.outlier_rows = int(any_far.sum())
    return report
