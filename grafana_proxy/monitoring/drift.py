"""Data drift of a window against the reference statistics (MLRun's histogram data drift plus
per-feature tests named after Evidently's, computed from histograms: see ``distances``).

Flow: ``window_stats`` (live stats on the padded reference bins) → ``compare`` (everything else is
computed from the two sets of stats, so it costs microseconds per feature) → ``DriftReport``.

- Per feature: TVD, Hellinger, symmetric KLD (formulas in ``distances``), ``missing_share`` (null cells
  of the window / rows) and ``infinite_share`` (±inf cells / rows; both are dropped before
  histogramming), and the selected extra tests.
- ``<metric>_sum`` / ``<metric>_mean`` over the features that have values in the window; general drift
  = (tvd_mean + hellinger_mean) / 2, classified by ``DriftThresholds``.
- Numerical features use the reference's bins, categorical ones the union of category frequencies.
  Features that cannot be compared are listed in ``not_comparable`` with the reason: the reference has
  no histogram or categories or not a single finite value, or the window has no finite value for it.
  They never count as drift. Window columns the reference does not know are ``unreferenced``; neither
  stops the analysis.
- A ``Segment`` restricts the same analysis to the rows whose column equals a value."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from grafana_proxy.model import ResultStatus
from grafana_proxy.monitoring.binning import inner_edges
from grafana_proxy.monitoring.distances import (
    DISTANCES,
    TEST_FUNCTIONS,
    TESTS,
    Matrix,
    TestInput,
    Vector,
    check_tests,
)
from grafana_proxy.monitoring.stats import FeatureStats, not_comparable_reason, reference_kind, window_stats
from grafana_proxy.monitoring.thresholds import classify

if TYPE_CHECKING:  # pandas is imported where a window is analysed (monitoring.config imports this module)
    import pandas as pd

DISTANCE_NAMES = tuple(DISTANCES)


@dataclass(frozen=True)
class DriftThresholds:
    """MLRun's ``DataDriftClassifier``: potential at 0.5, detected at 0.7 by default."""

    potential: float = 0.5
    detected: float = 0.7

    def __post_init__(self) -> None:
        if not 0 < self.potential < self.detected < 1:
            raise ValueError(
                "drift thresholds must satisfy 0 < potential < detected < 1 "
                f"(got potential={self.potential}, detected={self.detected})"
            )

    def classify(self, value: float | None) -> ResultStatus:
        return classify(value, self.potential, self.detected)


@dataclass(frozen=True)
class TestChoice:
    name: str
    threshold: float


def choose_tests(names: Sequence[str], thresholds: Mapping[str, float] | None = None) -> tuple[TestChoice, ...]:
    """Selected extra tests with their thresholds (Evidently's default thresholds unless overridden)."""
    overrides = dict(thresholds or {})
    check_tests(list(overrides))
    return tuple(TestChoice(n, float(overrides.get(n, TESTS[n].default_threshold))) for n in check_tests(names))


@dataclass(frozen=True)
class Segment:
    """Rows whose ``column`` equals ``value`` (numbers compared as numbers, anything else as text)."""

    name: str
    column: str
    value: Any

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Segment:
        for key in ("column", "value"):
            if key not in raw:
                raise ValueError(f"segment {dict(raw)!r}: missing {key!r}")
        name = str(raw.get("name") or f"{raw['column']}={raw['value']}")
        return cls(name=name, column=str(raw["column"]), value=raw["value"])

    def mask(self, df: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.bool_]] | None:
        """Which rows belong to the segment; None when the window has no such column."""
        import pandas as pd

        if self.column not in df.columns:
            return None
        column = df[self.column]
        if pd.api.types.is_numeric_dtype(column.dtype) and not isinstance(self.value, str | bool):
            return np.asarray(column.to_numpy(dtype=np.float64, na_value=np.nan) == float(self.value))
        return np.asarray(column.astype(str).to_numpy() == str(self.value))


@dataclass
class DriftReport:
    current_stats: FeatureStats
    features: dict[str, dict[str, Any]]  # per feature: distances, missing_share, kind, tests
    aggregates: dict[str, float | None]
    general_drift: float | None
    status: ResultStatus
    rows: int
    test_shares: dict[str, float | None] = field(default_factory=dict)  # share of drifted features
    unreferenced: list[str] = field(default_factory=list)
    not_comparable: dict[str, str] = field(default_factory=dict)  # feature -> reason

    def drift_measures(self) -> dict[str, Any]:
        """MLRun's ``drift_measures`` JSON: per-feature dicts plus the aggregate keys."""
        measures: dict[str, Any] = {name: dict(values) for name, values in self.features.items()}
        measures.update(self.aggregates)
        return measures

    @property
    def missing_share_mean(self) -> float | None:
        return self._share_mean("missing_share")

    @property
    def infinite_share_mean(self) -> float | None:
        return self._share_mean("infinite_share")

    def _share_mean(self, key: str) -> float | None:
        shares = [f[key] for f in self.features.values() if f.get(key) is not None]
        return float(np.mean(shares)) if shares else None


def _probabilities(ref: Mapping[str, Any], cur: Mapping[str, Any]) -> tuple[list[float], list[float]]:
    """Aligned (actual, expected) probability vectors of one feature; counts divided by ``count``."""
    cur_count = float(cur["count"])
    if "categories" in cur:
        ref_counts: Mapping[str, Any] = ref["categories"]
        cur_counts: Mapping[str, Any] = cur["categories"]
        ref_total = float(ref.get("count") or sum(ref_counts.values()) or 1.0)
        keys = sorted(set(ref_counts) | set(cur_counts))
        return ([cur_counts.get(k, 0) / cur_count for k in keys], [ref_counts.get(k, 0) / ref_total for k in keys])
    counts = [float(c) for c in ref["hist"][0]]
    if len(counts) + 2 == len(cur["hist"][0]):  # MLRun's pad_hist: two empty outer bins
        counts = [0.0, *counts, 0.0]
    ref_total = _reference_total(ref)
    return [c / cur_count for c in cur["hist"][0]], [c / ref_total for c in counts]


def _reference_total(ref: Mapping[str, Any]) -> float:
    """Values behind the reference histogram or category counts (``count``, else the counts' sum)."""
    counts = ref["hist"][0] if "hist" in ref else list(ref["categories"].values())
    return float(ref.get("count") or sum(float(c) for c in counts))


def _population_std(reference: Mapping[str, Mapping[str, Any]], names: list[str], n: Vector) -> Vector:
    """Reference std with ddof=0 (normed Wasserstein divides by it, as Evidently does with ``np.std``);
    the stored std is describe()'s, ddof=1."""
    sample = np.array([float(reference[name].get("std") or 0.0) for name in names])
    return np.asarray(sample * np.sqrt(np.maximum(n - 1, 0.0) / np.maximum(n, 1.0)), dtype=np.float64)


def _mean_gap(ref: Mapping[str, Any], cur: Mapping[str, Any]) -> float:
    means = ref.get("mean"), cur.get("mean")
    return math.nan if means[0] is None or means[1] is None else abs(float(means[1]) - float(means[0]))


def _points(ref: Mapping[str, Any], cur: Mapping[str, Any]) -> list[float]:
    """Where each padded bin's mass sits for Wasserstein: inner midpoints; an outer bin's mass at the
    mean of the window's values in it (``outer_means``), which makes the distance exact outside the
    reference range. Window stats without that key (written by other tools) fall back to halfway
    between the reference edge and the window's min/max."""
    edges = inner_edges(ref["hist"][1])
    mids = ((edges[:-1] + edges[1:]) / 2).tolist()
    means = cur.get("outer_means") or [None, None]
    low, high = cur.get("min"), cur.get("max")
    if means[0] is not None:
        left = float(means[0])
    else:
        left = (min(float(low), edges[0]) + edges[0]) / 2 if low is not None else float(edges[0])
    if means[1] is not None:
        right = float(means[1])
    else:
        right = (max(float(high), edges[-1]) + edges[-1]) / 2 if high is not None else float(edges[-1])
    return [left, *mids, right]


def _matrix(rows: list[list[float]], pad_with_last: bool = False) -> Matrix:
    width = max(len(r) for r in rows)
    out = np.zeros((len(rows), width), dtype=np.float64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
        if pad_with_last and len(r) < width:
            out[i, len(r) :] = r[-1]
    return out


def compare(
    reference: Mapping[str, Mapping[str, Any]],
    current: FeatureStats,
    rows: int,
    thresholds: DriftThresholds | None = None,
    tests: Sequence[TestChoice] = (),
) -> DriftReport:
    """Drift from stats alone: ``current`` as made by ``window_stats`` for a window of ``rows`` rows."""
    thresholds = thresholds or DriftThresholds()
    features: dict[str, dict[str, Any]] = {}
    compared: list[str] = []
    not_comparable: dict[str, str] = {}
    for name, ref in reference.items():
        reason = not_comparable_reason(ref)
        if reason:
            not_comparable[str(name)] = reason
    for name, cur in current.items():
        features[name] = {
            "kind": reference_kind(reference[name]),
            "count": int(cur["count"]),
            "missing_share": int(cur.get("missing", 0)) / rows if rows else None,
            "infinite_share": int(cur.get("infinite", 0)) / rows if rows else None,
        }
        features[name].update(dict.fromkeys(DISTANCE_NAMES))
        if cur["count"]:
            compared.append(name)
        else:
            numerical = features[name]["kind"] == "numerical"
            not_comparable[name] = "the window has no finite value" if numerical else "the window has no value"
    aggregates: dict[str, float | None] = {}
    shares: dict[str, float | None] = {}
    if compared:
        pairs = [_probabilities(reference[n], current[n]) for n in compared]
        actual, expected = _matrix([p[0] for p in pairs]), _matrix([p[1] for p in pairs])
        for metric, function in DISTANCES.items():
            values = function(actual, expected)
            for name, value in zip(compared, values, strict=True):
                features[name][metric] = float(value)
            aggregates[f"{metric}_sum"] = float(values.sum())
            aggregates[f"{metric}_mean"] = float(values.mean())
        shares = _run_tests(tests, compared, reference, current, actual, expected, features)
    else:
        for metric in DISTANCE_NAMES:
            aggregates[f"{metric}_sum"] = aggregates[f"{metric}_mean"] = None
    tvd_mean, hellinger_mean = aggregates["tvd_mean"], aggregates["hellinger_mean"]
    general = (tvd_mean + hellinger_mean) / 2 if tvd_mean is not None and hellinger_mean is not None else None
    return DriftReport(
        current_stats=current,
        features=features,
        aggregates=aggregates,
        general_drift=general,
        status=thresholds.classify(general),
        rows=rows,
        test_shares=shares,
        not_comparable=not_comparable,
    )


def _run_tests(
    tests: Sequence[TestChoice],
    compared: list[str],
    reference: Mapping[str, Mapping[str, Any]],
    current: FeatureStats,
    actual: Matrix,
    expected: Matrix,
    features: dict[str, dict[str, Any]],
) -> dict[str, float | None]:
    """Run each selected test on the features it applies to; return the share of drifted features."""
    shares: dict[str, float | None] = {}
    numerical = np.array([features[n]["kind"] == "numerical" for n in compared])
    for choice in tests:
        spec = TESTS[choice.name]
        rows = np.flatnonzero((numerical & spec.numerical) | (~numerical & spec.categorical))
        if rows.size == 0:
            shares[choice.name] = None
            continue
        names = [compared[i] for i in rows]
        ordered = spec.numerical and not spec.categorical
        n_expected = np.array([_reference_total(reference[n]) for n in names])
        extra = TestInput(
            n_actual=np.array([float(current[n]["count"]) for n in names]),
            n_expected=n_expected,
            ordered=numerical[rows],
            points=_matrix([_points(reference[n], current[n]) for n in names], True) if ordered else None,
            expected_std=_population_std(reference, names, n_expected) if ordered else None,
            mean_gap=np.array([_mean_gap(reference[n], current[n]) for n in names]) if ordered else None,
        )
        statistic, p_value = TEST_FUNCTIONS[choice.name](actual[rows], expected[rows], extra)
        drifted = tested = 0
        for i, name in enumerate(names):
            entry: dict[str, Any] = {"statistic": None, "p_value": None, "threshold": choice.threshold, "drift": False}
            features[name].setdefault("tests", {})[choice.name] = entry
            if math.isnan(statistic[i]):  # e.g. χ² when the window is too small for two pools of 5
                entry["reason"] = "too few values for this test"
                continue
            p = None if p_value is None else float(p_value[i])
            drift = bool(p < choice.threshold) if p is not None else bool(statistic[i] >= choice.threshold)
            entry.update(statistic=float(statistic[i]), p_value=p, drift=drift)
            drifted += drift
            tested += 1
        shares[choice.name] = drifted / tested if tested else None
    return shares


def analyze(
    features: pd.DataFrame,
    reference: Mapping[str, Mapping[str, Any]],
    thresholds: DriftThresholds | None = None,
    tests: Sequence[TestChoice] = (),
) -> DriftReport:
    """Drift of a window given as one column per feature (other event fields removed)."""
    report = compare(reference, window_stats(features, reference), len(features), thresholds, tests)
    report.unreferenced = [str(c) for c in features.columns if c not in reference]
    return report


def analyze_segments(
    features: pd.DataFrame,
    events: pd.DataFrame,
    reference: Mapping[str, Mapping[str, Any]],
    segments: Sequence[Segment],
    thresholds: DriftThresholds | None = None,
    tests: Sequence[TestChoice] = (),
) -> dict[str, DriftReport | None]:
    """One report per segment (rows of ``events`` aligned with ``features``); None when the window has
    no column the segment names. A segment matching no row yields a report with no comparable data."""
    out: dict[str, DriftReport | None] = {}
    for segment in segments:
        mask = segment.mask(events)
        if mask is None:
            mask = segment.mask(features)
        out[segment.name] = None if mask is None else analyze(features[mask], reference, thresholds, tests)
    return out
