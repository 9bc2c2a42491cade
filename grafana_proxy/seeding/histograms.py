"""Reference statistics and histogram distances in MLRun's format, vectorised over many windows.

This is a small local helper for the synthetic data only; the monitoring pipeline owns the real
drift code (``grafana_proxy/monitoring/drift.py``) and the seeder will switch to it once it exists.
Formulas: /work/shared/reference/mlrun-grafana-proxy.md §5."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import numpy.typing as npt

from grafana_proxy.model import ResultStatus

FloatArray = npt.NDArray[np.float64]

NUM_BINS = 20  # MLRun's default_num_bins
POTENTIAL_THRESHOLD = 0.5
DETECTED_THRESHOLD = 0.7
# MLRun replaces a zero "expected" probability by this value inside KL divergence.
KLD_ZERO_EXPECTED = 1e-4


def describe(values: FloatArray, edges: FloatArray | None = None) -> dict[str, Any]:
    """pandas-``describe()``-like stats plus ``hist`` = [[20 counts], [21 edges]]. With ``edges`` the
    counts use those bins (how MLRun computes current stats against the reference bins)."""
    counts, bin_edges = np.histogram(values, bins=NUM_BINS if edges is None else edges)
    q25, q50, q75 = np.quantile(values, [0.25, 0.5, 0.75])
    return {
        "count": float(values.size),
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
        "min": float(values.min()),
        "25%": float(q25),
        "50%": float(q50),
        "75%": float(q75),
        "max": float(values.max()),
        "hist": [counts.astype(int).tolist(), bin_edges.tolist()],
    }


def padded_edges(edges: FloatArray) -> FloatArray:
    """MLRun pads the reference histogram with one bin on each side reaching to +-float max, so
    live values outside the training range still land in a bin (22 bins in all)."""
    big = sys.float_info.max
    out: FloatArray = np.concatenate(([-big], edges, [big]))
    return out


def reference_probabilities(feature_stats: dict[str, Any]) -> FloatArray:
    """The padded reference histogram of one feature as probabilities (counts / count)."""
    counts = np.asarray(feature_stats["hist"][0], dtype=np.float64)
    padded = np.concatenate(([0.0], counts, [0.0]))
    out: FloatArray = padded / max(float(feature_stats["count"]), 1.0)
    return out


def tvd(expected: FloatArray, actual: FloatArray) -> FloatArray:
    """Total variation distance per row: sum |t - u| / 2."""
    out: FloatArray = np.abs(actual - expected).sum(axis=-1) / 2.0
    return out


def hellinger(expected: FloatArray, actual: FloatArray) -> FloatArray:
    """Hellinger distance per row: sqrt(max(1 - sum sqrt(u t), 0))."""
    overlap = np.sqrt(actual * expected).sum(axis=-1)
    out: FloatArray = np.sqrt(np.maximum(1.0 - overlap, 0.0))
    return out


def _kl(actual: FloatArray, expected: FloatArray) -> FloatArray:
    # Terms with zero actual probability contribute nothing; zero expected is replaced, as MLRun does.
    safe_expected = np.where(expected == 0.0, KLD_ZERO_EXPECTED, expected)
    safe_actual = np.where(actual == 0.0, 1.0, actual)
    terms = np.where(actual > 0.0, actual * np.log(safe_actual / safe_expected), 0.0)
    result: FloatArray = terms.sum(axis=-1)
    return result


def kld(expected: FloatArray, actual: FloatArray) -> FloatArray:
    """Symmetric Kullback-Leibler divergence per row: KL(t||u) + KL(u||t)."""
    return _kl(actual, expected) + _kl(expected, actual)


def general_drift_status(value: float) -> int:
    """MLRun's data-drift classifier: >= 0.7 detected, >= 0.5 potential, else none."""
    if value >= DETECTED_THRESHOLD:
        return int(ResultStatus.detected)
    if value >= POTENTIAL_THRESHOLD:
        return int(ResultStatus.potential_detection)
    return int(ResultStatus.no_detection)


def drift_measures(per_feature: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The ``drift_measures`` JSON: per-feature {tvd, hellinger, kld} plus <metric>_sum/_mean."""
    out: dict[str, Any] = dict(per_feature)
    for metric in ("tvd", "hellinger", "kld"):
        values = [m[metric] for m in per_feature.values()]
        total = float(sum(values))
        out[f"{metric}_sum"] = total
        out[f"{metric}_mean"] = total / len(values) if values else 0.0
    return out
