"""Feature statistics in MLRun's ``feature_stats`` format, computed column by column with numpy.

Per numerical feature (pandas ``describe()`` keys plus a histogram of 20 bins, as MLRun stores
``feature_stats``)::

    {"count", "mean", "std", "min", "25%", "50%", "75%", "max", "hist": [[20 counts], [21 edges]]}

Per categorical feature: ``count``, ``unique``, ``top``, ``freq`` (describe() of an object column) plus
``categories`` = {value: count} (the most frequent ``MAX_CATEGORIES``, the rest summed under ``OTHER``);
MLRun keeps no histogram for such columns, so without ``categories`` they could not be compared.

Two flavours:
- ``reference_stats(df)`` — the training ("expected") side: 20 bins spanning the data (``np.histogram``).
- ``window_stats(df, reference)`` — the live ("actual") side, MLRun's ``current_stats``: every feature
  of the reference, histogrammed on the reference edges padded with two outer bins (see ``binning``),
  plus ``missing`` (count of null cells) and ``outer_means`` (mean of the values in each outer bin, null
  when it is empty), so drift can be computed from stats alone.

Non-finite values are data quality, not data: on both sides a numerical feature's ``count``, describe()
keys and histogram cover its finite values only; NaN cells are counted in ``missing`` and ±inf in
``infinite``. A single ±inf would otherwise stretch the bins over the whole float range (or, in the
reference, leave no histogram at all). A reference feature with no finite value keeps an all-zero
histogram and is not comparable (``not_comparable_reason``). Non-finite numbers are JSON ``null`` (the
stores hold JSON; NaN is not JSON)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from grafana_proxy.monitoring.binning import QUANTILES, FloatArray, PaddedBins, Summary, inner_edges, padded_bins

NUM_BINS = 20  # MLRun's default_num_bins
MAX_CATEGORIES = 200  # keeps the JSON of an id-like text column small
OTHER = "__other__"
# numpy releases the GIL in the heavy loops, so threads over features scale with cores.
_WORKERS = min(8, os.cpu_count() or 1)

FeatureStats = dict[str, dict[str, Any]]

if TYPE_CHECKING:  # imported where used: the controller role imports this module before any window has events
    import pandas as pd


def _num(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def is_numeric(series: pd.Series) -> bool:
    """Numbers (not booleans, which describe() and users treat as categories)."""
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(series.dtype)) and not pd.api.types.is_bool_dtype(series.dtype)


def as_float_array(series: pd.Series) -> FloatArray:
    """The column as float64 with NaN for missing; text that is not a number also becomes NaN."""
    import pandas as pd

    if not is_numeric(series):
        series = pd.to_numeric(series, errors="coerce")
    return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def _finite_only(x: FloatArray) -> tuple[FloatArray, int, int]:
    """The finite values, the count of NaN (missing) and of ±inf. The copy and the second look are only
    paid when something is not finite."""
    finite = np.isfinite(x)
    if finite.all():
        return x, 0, 0
    rest = x[~finite]
    nan = int(np.isnan(rest).sum())
    return x[finite], nan, int(rest.size - nan)


def _summary_stats(summary: Summary) -> dict[str, Any]:
    q25, q50, q75 = summary.quartiles
    return {
        "count": summary.count,
        "mean": _num(summary.mean),
        "std": _num(summary.std),
        "min": _num(summary.min),
        "25%": _num(q25),
        "50%": _num(q50),
        "75%": _num(q75),
        "max": _num(summary.max),
    }


def describe_numeric(values: FloatArray, bins: PaddedBins | None = None) -> dict[str, Any]:
    """Stats of one numerical column (NaN = missing). Without ``bins``: a 20-bin histogram over the
    data, as the reference has (``np.histogram``, like MLRun). With ``bins``: counts on the padded
    reference bins (n + 2 counts, n + 3 edges)."""
    x, missing, infinite = _finite_only(values)
    if bins is not None:
        summary = bins.summarise(x)
        stats = _summary_stats(summary)
        stats["hist"] = [summary.counts.tolist(), bins.json_edges()]
        stats["outer_means"] = [_num(v) for v in summary.outer_means]
    else:
        stats = _summary_stats(_plain_summary(x))
        if x.size:
            counts, edges = np.histogram(x, bins=NUM_BINS)
            stats["hist"] = [counts.tolist(), edges.tolist()]
        else:  # no finite value: numpy cannot choose bins; an empty histogram marks "not comparable"
            stats["hist"] = [[0] * NUM_BINS, [0.0] * (NUM_BINS + 1)]
    stats["missing"] = missing
    stats["infinite"] = infinite
    return stats


def _plain_summary(x: FloatArray) -> Summary:
    """The reference side: computed once per training set, so plain numpy is fast enough."""
    if x.size == 0:
        return PaddedBins(np.array([0.0, 1.0])).summarise(x)
    q25, q50, q75 = (float(v) for v in np.quantile(x, QUANTILES))
    std = float(x.std(ddof=1)) if x.size > 1 else math.nan
    return Summary(
        int(x.size), float(x.mean()), std, float(x.min()), float(x.max()), (q25, q50, q75), np.zeros(0, dtype=np.int64)
    )


def describe_categorical(series: pd.Series, keep: frozenset[str] = frozenset()) -> dict[str, Any]:
    """count/unique/top/freq plus ``categories`` counts; values are compared as text. Categories in
    ``keep`` (the reference's) are always listed so live counts line up with the reference."""
    present = series.dropna()
    counts = present.astype(str).value_counts(sort=True)
    stats: dict[str, Any] = {
        "count": int(present.size),
        "missing": int(series.size - present.size),
        "unique": int(counts.size),
        "top": str(counts.index[0]) if counts.size else None,
        "freq": int(counts.iloc[0]) if counts.size else None,
    }
    head = counts.iloc[:MAX_CATEGORIES]
    categories = {str(k): int(v) for k, v in head.items()}
    rest = counts.iloc[MAX_CATEGORIES:]
    for name in keep & set(rest.index):
        categories[name] = int(rest[name])
    other = int(rest.sum()) - sum(categories[name] for name in keep & set(rest.index))
    if other:
        categories[OTHER] = categories.get(OTHER, 0) + other
    stats["categories"] = categories
    return stats


def reference_stats(df: pd.DataFrame, columns: list[str] | None = None) -> FeatureStats:
    """The reference ``feature_stats`` of a training DataFrame (every column, or ``columns``)."""
    names = [str(c) for c in (columns if columns is not None else df.columns)]
    missing = [name for name in names if name not in df.columns]
    if missing:
        raise ValueError(f"columns not in the data: {', '.join(missing)}")

    def one(name: str) -> dict[str, Any]:
        column = df[name]
        if is_numeric(column):
            return describe_numeric(as_float_array(column))
        return describe_categorical(column)

    with ThreadPoolExecutor(_WORKERS) as pool:
        return dict(zip(names, pool.map(one, names), strict=True))


def reference_kind(stats: Mapping[str, Any]) -> str | None:
    """Kind of a reference feature: "numerical" (numeric hist), "categorical" (category counts) or None
    when it cannot be compared (see ``not_comparable_reason``)."""
    return None if not_comparable_reason(stats) else _shape(stats)


def _shape(stats: Mapping[str, Any]) -> str | None:
    hist = stats.get("hist")
    if (
        isinstance(hist, list | tuple)
        and len(hist) == 2
        and all(isinstance(part, list | tuple) for part in hist)
        and len(hist[1]) == len(hist[0]) + 1
    ):
        return "numerical"
    if isinstance(stats.get("categories"), Mapping):
        return "categorical"
    return None


def not_comparable_reason(stats: Mapping[str, Any]) -> str | None:
    """Why a reference feature cannot be compared with a window, or None when it can. An empty histogram
    (a training column without a single finite value) would make every window look drifted."""
    shape = _shape(stats)
    if shape is None:
        return "the reference has neither a histogram nor category counts"
    counts = stats["hist"][0] if shape == "numerical" else list(stats["categories"].values())
    try:
        total = sum(float(c) for c in counts)
    except (TypeError, ValueError):
        return "the reference counts are not numbers"
    if shape == "numerical":
        try:
            inner_edges(stats["hist"][1])
        except (TypeError, ValueError):
            return "the reference histogram edges are not ascending finite numbers"
    if not total > 0:
        return "the reference has no finite value" if shape == "numerical" else "the reference has no value"
    return None


def window_stats(df: pd.DataFrame, reference: Mapping[str, Mapping[str, Any]]) -> FeatureStats:
    """MLRun's ``current_stats`` of a window: one entry per comparable reference feature. A feature the
    window lacks is all-missing (count 0, missing = rows). Window columns the reference does not know
    are not described here (see ``drift.unreferenced_features``)."""
    import pandas as pd

    rows = len(df)
    jobs: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for name, ref in reference.items():
        kind = reference_kind(ref)
        if kind is not None:
            jobs[str(name)] = (kind, ref)

    def one(name: str) -> dict[str, Any]:
        kind, ref = jobs[name]
        column = df[name] if name in df.columns else pd.Series([None] * rows, dtype=object)
        if kind == "numerical":
            return describe_numeric(as_float_array(column), padded_bins(ref["hist"][1]))
        return describe_categorical(column, frozenset(str(k) for k in ref["categories"]))

    with ThreadPoolExecutor(_WORKERS) as pool:
        return dict(zip(jobs, pool.map(one, list(jobs)), strict=True))


def load_training_file(path: str | Path) -> pd.DataFrame:
    """A training set from ``.csv`` or ``.parquet``/``.pq`` (any path pandas and pyarrow open)."""
    import pandas as pd

    suffix = Path(str(path)).suffix.lower()
    if suffix == ".csv":
        # round_trip: pandas' default fast parser may be off in the last bit; a reference is read exactly.
        return pd.read_csv(path, float_precision="round_trip")
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    raise ValueError(f"training file {path}: expected a .csv or .parquet file, got {suffix or 'no suffix'!r}")


def reference_from_file(
    path: str | Path, columns: list[str] | None = None, exclude: tuple[str, ...] = ()
) -> FeatureStats:
    """``feature_stats`` of a training file; ``exclude`` drops e.g. the label column."""
    df = load_training_file(path)
    names = [str(c) for c in (columns if columns is not None else df.columns) if str(c) not in exclude]
    return reference_stats(df, names)
