"""Traffic of one endpoint over the whole range, one value per step: prediction counts with a daily
and weekly cycle and smooth noise, latency that rises with load and during incidents, errors; and
the stream metrics MLRun derives from them (5 min / 1 h windows) plus the error rate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grafana_proxy.monitoring.binning import FloatArray
from grafana_proxy.seeding.catalog import EndpointPlan

HOUR_MS = 3_600_000
DAY_MS = 86_400_000


@dataclass
class Traffic:
    counts: FloatArray  # predictions in each step
    latency_us: FloatArray  # mean latency of the step's predictions
    errors: FloatArray  # failed predictions in each step


def smooth_noise(rng: np.random.Generator, n: int, width: int) -> FloatArray:
    """Unit-variance noise correlated over ``width`` steps, so traffic wanders instead of jittering."""
    white = rng.standard_normal(n + width)
    csum = np.cumsum(white)
    moving = (csum[width:] - csum[:-width]) / np.sqrt(width)
    out: FloatArray = moving[:n]
    return out


def window_sum(values: FloatArray, window_s: int, step_s: int) -> FloatArray:
    """Sum over the trailing window ending at each step (partial at the start). A window shorter than
    the step is approximated by the step's share, so coarse seeds still get sensible 5-min counts."""
    if window_s <= step_s:
        scaled: FloatArray = values * (window_s / step_s)
        return scaled
    width = window_s // step_s
    csum = np.concatenate(([0.0], np.cumsum(values)))
    upper = np.arange(1, values.size + 1)
    lower = np.maximum(upper - width, 0)
    out: FloatArray = csum[upper] - csum[lower]
    return out


def incident_factor(plan: EndpointPlan, times_ms: FloatArray) -> FloatArray:
    """Latency multiplier per step: 1, or the incident's factor while one is under way."""
    factor = np.ones(times_ms.size)
    start, span = float(times_ms[0]), float(times_ms[-1] - times_ms[0])
    for incident in plan.incidents:
        begin = start + incident.start_fraction * span
        inside = (times_ms >= begin) & (times_ms < begin + incident.duration_s * 1000)
        factor[inside] = incident.latency_factor
    return factor


def simulate(plan: EndpointPlan, times_ms: FloatArray, step_s: int, rng: np.random.Generator) -> Traffic:
    hours = (times_ms % DAY_MS) / HOUR_MS
    daily = 1.0 + plan.daily_amplitude * np.cos(2 * np.pi * (hours - plan.peak_hour) / 24.0)
    weekday = ((times_ms // DAY_MS) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    weekly = np.where(weekday >= 5, 0.75, 1.0)
    width = max(1, 1800 // step_s)
    rate = plan.base_rate * daily * weekly * np.exp(0.15 * smooth_noise(rng, times_ms.size, width))
    counts = rng.poisson(rate * step_s).astype(np.float64)
    slow = incident_factor(plan, times_ms)
    load = rate / max(plan.base_rate, 1e-9)
    latency = plan.base_latency_us * (0.8 + 0.2 * load) * slow * np.exp(0.08 * rng.standard_normal(rate.size))
    # Errors cluster in incidents, as real outages do.
    error_rate = plan.error_rate * np.where(slow > 1.0, 20.0, 1.0)
    errors = rng.binomial(counts.astype(np.int64), np.minimum(error_rate, 1.0)).astype(np.float64)
    return Traffic(counts=counts, latency_us=latency, errors=errors)


def combine_router(plan: EndpointPlan, children: list[Traffic], rng: np.random.Generator) -> Traffic:
    """A router serves what its children serve, plus its own routing overhead."""
    counts = np.sum([c.counts for c in children], axis=0)
    weighted = np.sum([c.counts * c.latency_us for c in children], axis=0)
    mean_child = np.sum([c.latency_us for c in children], axis=0) / len(children)
    latency = np.where(counts > 0, weighted / np.maximum(counts, 1.0), mean_child)
    overhead = plan.base_latency_us * np.exp(0.1 * rng.standard_normal(counts.size))
    return Traffic(counts=counts, latency_us=latency + overhead, errors=np.sum([c.errors for c in children], axis=0))


def metric_arrays(traffic: Traffic, step_s: int) -> dict[str, FloatArray]:
    """The stream metrics per step, named as MLRun names them (latencies in microseconds)."""
    count_5m = window_sum(traffic.counts, 300, step_s)
    count_1h = window_sum(traffic.counts, 3600, step_s)
    weighted = traffic.counts * traffic.latency_us

    def latency_avg(window_s: int, counts: FloatArray) -> FloatArray:
        total = window_sum(weighted, window_s, step_s)
        out: FloatArray = np.where(counts > 0, total / np.maximum(counts, 1e-9), traffic.latency_us)
        return out

    return {
        "predictions_per_second": count_5m / 300.0,  # MLRun: predictions_count_5m / 300
        "predictions_count_5m": count_5m,
        "predictions_count_1h": count_1h,
        "latency_avg_5m": latency_avg(300, count_5m),
        "latency_avg_1h": latency_avg(3600, count_1h),
        "error_count": traffic.errors,
        # Failed / all requests over 5 minutes (the stream windows' error_rate); 0 with no requests.
        "error_rate": np.minimum(window_sum(traffic.errors, 300, step_s) / np.maximum(count_5m, 1e-9), 1.0)
        * (count_5m > 0),
    }
