"""Incoming feature values of one endpoint: reference (training) statistics, the sampled series with
a mean shift that starts part-way for drifting endpoints, and the drift of every 10-minute window
against the reference, as the ``histogram-data-drift`` application would compute it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grafana_proxy.seeding.catalog import EndpointPlan, Sampler
from grafana_proxy.seeding.histograms import (
    FloatArray,
    describe,
    drift_measures,
    hellinger,
    kld,
    padded_edges,
    reference_probabilities,
    tvd,
)

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
        out.append(Reference(name, sampler, describe(training), np.sort(sampler(rng, CDF_SAMPLE))))
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
    edges = padded_edges(np.asarray(ref.stats["hist"][1], dtype=np.float64))
    moved = edges[None, :] - shifts[:, None]
    cdf = np.searchsorted(ref.live_sorted, moved.ravel()).reshape(moved.shape) / ref.live_sorted.size
    cdf[:, 0], cdf[:, -1] = 0.0, 1.0  # the padding bins reach to +-infinity
    probs: FloatArray = np.diff(cdf, axis=1)
    return probs


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
    from a multinomial. The last window is sampled value by value so the record's current_stats,
    drift_measures and the last result agree exactly."""
    n = window_mid_ms.size
    sums = {m: np.zeros(n) for m in ("tvd", "hellinger", "kld")}
    events = np.maximum(window_counts, 1.0).astype(np.int64)
    current: dict[str, Any] = {}
    per_feature: dict[str, dict[str, float]] = {}
    for ref in refs:
        shifts = shift(plan, ref, window_mid_ms, range_start_ms, span_ms)
        probs = _window_probabilities(ref, shifts)
        counts = rng.multinomial(events, probs / probs.sum(axis=1, keepdims=True)).astype(np.float64)
        last_values = ref.sampler(rng, int(min(events[-1], CURRENT_STATS_MAX_ROWS))) + shifts[-1]
        edges = np.asarray(ref.stats["hist"][1], dtype=np.float64)
        current[ref.name] = describe(last_values, edges)
        counts[-1] = np.histogram(last_values, bins=padded_edges(edges))[0]
        actual = counts / counts.sum(axis=1, keepdims=True)
        expected = reference_probabilities(ref.stats)[None, :]
        values = {"tvd": tvd(expected, actual), "hellinger": hellinger(expected, actual), "kld": kld(expected, actual)}
        for metric, series in values.items():
            sums[metric] += series
        per_feature[ref.name] = {metric: float(series[-1]) for metric, series in values.items()}
    k = max(len(refs), 1)
    return WindowDrift(
        tvd_mean=sums["tvd"] / k,
        hellinger_mean=sums["hellinger"] / k,
        kld_mean=sums["kld"] / k,
        current_stats=current,
        drift_measures=drift_measures(per_feature) if refs else {},
    )
