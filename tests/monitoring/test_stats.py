"""feature_stats in MLRun's format: describe() keys, 20-bin hist, categories; live stats on padded bins."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grafana_proxy.monitoring.binning import padded_bins
from grafana_proxy.monitoring.stats import (
    MAX_CATEGORIES,
    OTHER,
    load_training_file,
    reference_from_file,
    reference_stats,
    window_stats,
)

DESCRIBE = ("count", "mean", "std", "min", "25%", "50%", "75%", "max")


def test_numeric_reference_matches_pandas_describe_and_numpy_histogram() -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x": rng.normal(3, 2, 5000), "n": rng.integers(0, 9, 5000)})
    stats = reference_stats(df)
    for column in ("x", "n"):
        expected = df[column].describe()
        for key in DESCRIBE:
            assert stats[column][key] == pytest.approx(float(expected[key]), rel=1e-12)
        counts, edges = np.histogram(df[column], bins=20)
        assert stats[column]["hist"] == [counts.tolist(), edges.tolist()]


def test_categorical_reference_has_describe_keys_and_category_counts() -> None:
    df = pd.DataFrame({"c": ["a", "b", "a", None, "a", "c"], "flag": [True, False, True, True, None, True]})
    stats = reference_stats(df)
    assert stats["c"] == {
        "count": 5,
        "missing": 1,
        "unique": 3,
        "top": "a",
        "freq": 3,
        "categories": {"a": 3, "b": 1, "c": 1},
    }
    assert stats["flag"]["categories"] == {"True": 4, "False": 1}


def test_many_categories_are_capped_with_an_other_bucket() -> None:
    values = [f"id{i}" for i in range(MAX_CATEGORIES + 50)]
    stats = reference_stats(pd.DataFrame({"c": values}))["c"]
    assert len(stats["categories"]) == MAX_CATEGORIES + 1
    assert stats["categories"][OTHER] == 50
    assert sum(stats["categories"].values()) == stats["count"]


def test_nan_is_missing_and_all_nan_column_does_not_crash() -> None:
    df = pd.DataFrame({"x": [1.0, np.nan, 3.0, np.nan], "empty": [np.nan] * 4})
    stats = reference_stats(df)
    assert stats["x"]["count"] == 2 and stats["x"]["missing"] == 2 and stats["x"]["mean"] == 2.0
    assert stats["empty"]["count"] == 0 and stats["empty"]["mean"] is None


def test_window_stats_use_padded_reference_edges() -> None:
    reference = {"x": {"count": 4, "hist": [[1, 1, 2], [0.0, 1.0, 2.0, 3.0]]}}
    window = pd.DataFrame({"x": [-5.0, 0.0, 0.5, 1.0, 3.0, 3.0, 3.5, np.inf, np.nan, -np.inf]})
    stats = window_stats(window, reference)["x"]
    # -inf..0 | [0,1) | [1,2) | [2,3] | (3, inf): the reference maximum stays in the last inner bin.
    assert stats["hist"][0] == [1, 2, 1, 2, 1]
    assert stats["hist"][1] == [-sys.float_info.max, 0.0, 1.0, 2.0, 3.0, sys.float_info.max]
    # ±inf are counted apart like NaN, not binned: they are data quality, not an outer-bin value.
    assert stats["count"] == 7 and stats["missing"] == 1 and stats["infinite"] == 2
    assert stats["max"] == 3.5 and stats["min"] == -5.0


def test_window_stats_mark_absent_feature_as_all_missing_and_skip_unknown_columns() -> None:
    reference = {"x": {"count": 2, "hist": [[1, 1], [0.0, 1.0, 2.0]]}, "text": {"top": "a", "count": 3}}
    stats = window_stats(pd.DataFrame({"other": [1.0, 2.0]}), reference)
    assert set(stats) == {"x"}  # "text" has neither hist nor categories: not comparable
    assert stats["x"]["count"] == 0 and stats["x"]["missing"] == 2


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(2).normal(size=300_000),
        np.random.default_rng(3).integers(0, 21, size=300_000).astype(float),  # every value on an edge
        np.random.default_rng(4).normal(40, 1, size=300_000),  # far outside the reference range
        np.random.default_rng(5).exponential(size=300_000) ** 3,  # heavy tail
    ],
)
@pytest.mark.parametrize("edges", [np.linspace(0, 20, 21), np.linspace(-3.3, 2.9, 21), [0.0, 0.5, 3.0, 20.0]])
def test_fast_summary_equals_numpy(values: np.ndarray, edges: list[float]) -> None:
    bins = padded_bins(list(edges))
    summary = bins.summarise(values)
    exact = np.searchsorted(
        np.append(np.asarray(edges, dtype=float)[:-1], np.nextafter(edges[-1], np.inf)), values, side="right"
    )
    assert summary.counts.tolist() == np.bincount(exact, minlength=len(edges) + 1).tolist()
    assert list(summary.quartiles) == pytest.approx(np.quantile(values, [0.25, 0.5, 0.75]).tolist(), rel=1e-12)
    assert summary.mean == pytest.approx(values.mean(), rel=1e-9)
    assert summary.std == pytest.approx(values.std(ddof=1), rel=1e-9)


def test_training_file_csv_and_parquet(tmp_path: Path) -> None:
    df = pd.DataFrame({"x": np.arange(100.0), "label": [0, 1] * 50, "c": ["a", "b"] * 50})
    df.to_csv(tmp_path / "train.csv", index=False)
    df.to_parquet(tmp_path / "train.parquet")
    from_csv = reference_from_file(tmp_path / "train.csv", exclude=("label",))
    from_parquet = reference_from_file(tmp_path / "train.parquet", exclude=("label",))
    assert set(from_csv) == {"x", "c"} and from_csv == from_parquet
    with pytest.raises(ValueError, match=r"\.csv or \.parquet"):
        load_training_file(tmp_path / "train.json")


def test_many_bins_take_the_plain_path_with_the_same_answer() -> None:
    values = np.random.default_rng(9).normal(size=50_000)
    bins = padded_bins(np.linspace(-5, 5, 1001).tolist())
    summary = bins.summarise(values)
    assert summary.counts.tolist() == bins.counts(values).tolist()
    assert list(summary.quartiles) == pytest.approx(np.quantile(values, [0.25, 0.5, 0.75]).tolist())
