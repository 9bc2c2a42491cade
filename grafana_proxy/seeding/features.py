"""Incoming feature values of one endpoint: reference (training) statistics, the sampled series with
a mean shift that starts part-way for drifting endpoints, and the drift of every 10-minute window
against the reference, as the ``histogram-data-drift`` application would compute it: the stats and
distances are the monitoring package's own (``monitoring.stats``, ``monitoring.distances``,
``monitoring.drift``), so seeded records look exactly like the pipeline's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grafana_proxy.monitoring.binning import FloatArray, padded_bins
from grafana_proxy.monitoring.distances import DISTANCES
from grafana_proxy.monitoring.drift import analyze
from grafana_proxy.monitoring.stats import describe_numeric
from grafana_proxy.seeding.catalog import EndpointPlan, Sampler

TRAINING_ROWS = 5_000
# A large sample of the live distribution stands in for its CDF, so bin probabilities of a shifted
# distribution come from two searchsorted calls instead of sampling every event of every window.
CDF_SAMPLE = 50_000
CURRENT_STATS_MAX_ROWS = 5_000


@dataclass
class Reference:
    name: str
    sampler: Sampler
    stats: dict[str, Any]  # one feature's entry of ``feature_stats``
    live_sorted: FloatArray

    @property
    def std(self) -> float:
        return float(self.stats["std"]) or 1.0


@dataclass
class WindowDrift:
    """Drift of every window (arrays of one value per window) and the stats of the last window."""

    tvd_mean: FloatArray
    hellinger_mean: FloatArray
    kld_mean: FloatArray
    current_stats: dict[str, Any] = field(default_factory=dict)
    drift_measures: dict[str, Any] = field(default_factory=dict)

    @property
    def general_drift(self) -> FloatArray:
        """MLRun's general drift: (tvd_mean + hellinger_mean) / 2."""
        out: FloatArray = (self.tvd_mean + self.hellinger_mean) / 2.0
        return out


def references(plan: EndpointPlan, rng: np.random.Generator) -> list[Reference]:
    out = []
    for name, sampler in plan.features:
        training = sampler(rng, TRAINING_ROWS)
        out.append(Reference(name, sampler, describe_numeric(training), np.sort(sampler(rng, CDF_SAMPLE))))
    return out


def shift(plan: EndpointPlan, ref: Reference, times_ms: FloatArray, start_ms: float, span_ms: float) -> FloatArray:
    """The additive mean shift of one feature at each time: 0, ramping linearly to its full size."""
    drift = plan.drift
    if drift is None or ref.name not in drift.features:
        return np.zeros(times_ms.size)
    begin = start_ms + drift.start_fraction * span_ms
    progress = np.clip((times_ms - begin) / (drift.ramp_s * 1000.0), 0.0, 1.0)
    out: FloatArray = progress * drift.magnitude * ref.std
    return out


def feature_arrays(
    plan: EndpointPlan, refs: list[Reference], times_ms: FloatArray, span_ms: float, rng: np.random.Generator
) -> dict[str, FloatArray]:
    """One sampled value per step and feature (MLRun samples the events it stores, too)."""
    start = float(times_ms[0])
    return {ref.name: ref.sampler(rng, times_ms.size) + shift(plan, ref, times_ms, start, span_ms) for ref in refs}


def _window_probabilities(ref: Reference, shifts: FloatArray) -> FloatArray:
    """P(value + shift falls in each padded reference bin), one row per window."""
    edges = np.asarray(padded_bins(ref.stats["hist"][1]).json_edges(), dtype=np.float64)
    moved = edges[None, :] - shifts[:, None]
    cdf = np.searchsorted(ref.live_sorted, moved.ravel()).reshape(moved.shape) / ref.live_sorted.size
    cdf[:, 0], cdf[:, -1] = 0.0, 1.0  # the padding bins reach to +-infinity
    probs: FloatArray = np.diff(cdf, axis=1)
    return probs


def _expected(ref: Reference) -> FloatArray:
    """The reference histogram on the padded bins, as probabilities (counts / count)."""
    counts = np.asarray(ref.stats["hist"][0], dtype=np.float64)
    out: FloatArray = np.concatenate(([0.0], counts, [0.0])) / max(float(ref.stats["count"]), 1.0)
    return out


def window_drift(
    plan: EndpointPlan,
    refs: list[Reference],
    window_mid_ms: FloatArray,
    window_counts: FloatArray,
    range_start_ms: float,
    span_ms: float,
    rng: np.random.Generator,
) -> WindowDrift:
    """Per-window drift metrics; every window's histogram holds all its predictions, drawn at once
    from a multinomial. The last window is sampled value by value and analysed by the monitoring
    package's ``analyze``, so the record's current_stats, drift_measures and the last result agree
    exactly with what the ``histogram-data-drift`` application writes."""
    n = window_mid_ms.size
    sums = {m: np.zeros(n) for m in DISTANCES}
    events = np.maximum(window_counts, 1.0).astype(np.int64)
    last_values: dict[str, FloatArray] = {}
    for ref in refs:
        shifts = shift(plan, ref, window_mid_ms, range_start_ms, span_ms)
        probs = _window_probabilities(ref, shifts)
        counts = rng.multinomial(events, probs / probs.sum(axis=1, keepdims=True)).astype(np.float64)
        last_values[ref.name] = ref.sampler(rng, int(min(events[-1], CURRENT_STATS_MAX_ROWS))) + shifts[-1]
        actual = counts / counts.sum(axis=1, keepdims=True)
        expected = _expected(ref)[None, :]
        for metric, distance in DISTANCES.items():
            sums[metric] += distance(actual, expected)
    k = max(len(refs), 1)
    means = {metric: total / k for metric, total in sums.items()}
    if not refs:
        return WindowDrift(tvd_mean=means["tvd"], hellinger_mean=means["hellinger"], kld_mean=means["kld"])
    import pandas as pd  # here, not at the top: `grafana-proxy serve` imports the CLI's demo -> seeding chain

    report = analyze(pd.DataFrame(last_values), {ref.name: ref.stats for ref in refs})
    for metric in DISTANCES:
        means[metric][-1] = report.aggregates[f"{metric}_mean"] or 0.0
    return WindowDrift(
        tvd_mean=means["tvd"],
        hellinger_mean=means["hellinger"],
        kld_mean=means["kld"],
        current_stats=report.current_stats,
        drift_measures=report.drift_measures(),
    )
