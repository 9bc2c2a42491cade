"""Seeding a project: plan the endpoints, simulate each one over the range with numpy, and write
records, series and results through the store interfaces. Used by ``grafana-proxy seed``/``demo``
and by the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from grafana_proxy.clock import now_ms
from grafana_proxy.identifiers import problem
from grafana_proxy.model import EndpointType, ResultStatus, SeriesKind
from grafana_proxy.monitoring.binning import FloatArray
from grafana_proxy.seeding import features as feat
from grafana_proxy.seeding import results as res
from grafana_proxy.seeding.catalog import EndpointPlan, plan_endpoints
from grafana_proxy.seeding.quality import quality_results
from grafana_proxy.seeding.traffic import Traffic, combine_router, metric_arrays, simulate
from grafana_proxy.seeding.writer import write_series_arrays
from grafana_proxy.stores.base import Stores

DAY_MS = 86_400_000
MAX_STEP_SECONDS = 86_400


@dataclass(frozen=True)
class SeedOptions:
    project: str
    endpoints: int
    days: float
    step_seconds: int = 60
    features: int | None = None  # features per endpoint; None = the use case's own (4 to 6)
    seed: int = 0
    end_ms: int | None = None  # end of the seeded range; None = now

    def validate(self) -> None:
        """Raise ``ValueError`` naming the option to fix."""
        reason = problem("project", self.project)
        if reason is not None:
            raise ValueError(f"--project: {reason}")
        if self.endpoints < 1:
            raise ValueError("endpoints must be at least 1")
        if self.days <= 0:
            raise ValueError("days must be positive")
        if not 1 <= self.step_seconds <= MAX_STEP_SECONDS:
            raise ValueError(f"step-seconds must be between 1 and {MAX_STEP_SECONDS}")
        if self.features is not None and self.features < 1:
            raise ValueError("features must be at least 1")
        if self.days * 86_400 < self.step_seconds:
            raise ValueError("the range (days) must hold at least one step")


@dataclass(frozen=True)
class SeedReport:
    project: str
    endpoints: int
    points: int
    results: int
    start_ms: int
    end_ms: int
    seconds: float


def _time_axis(options: SeedOptions) -> tuple[int, int, np.ndarray[Any, np.dtype[np.int64]]]:
    """Range end aligned to the 10-minute windows (so results line up across endpoints), and one
    timestamp per step counting back from it."""
    now = options.end_ms if options.end_ms is not None else now_ms()
    end = now - now % res.WINDOW_MS
    start = end - int(options.days * DAY_MS)
    step_ms = options.step_seconds * 1000
    count = (end - start) // step_ms
    times = end - step_ms * np.arange(count, 0, -1, dtype=np.int64)
    return start, end, times


def _last(values: FloatArray) -> float:
    return float(values[-1])


def _record(
    plan: EndpointPlan,
    traffic: Traffic,
    metrics: Mapping[str, FloatArray],
    times: np.ndarray[Any, np.dtype[np.int64]],
    refs: list[feat.Reference],
    drift: feat.WindowDrift | None,
    drift_status: int,
) -> dict[str, Any]:
    served = np.flatnonzero(traffic.counts > 0)
    first = int(times[served[0]]) if served.size else None
    last = int(times[served[-1]]) if served.size else None
    accuracy = None
    if plan.endpoint_type != EndpointType.router:
        # Drifted inputs cost accuracy; the exact figure does not matter, its direction does.
        general = float(drift.general_drift[-1]) if drift is not None and refs else 0.0
        accuracy = round(float(res.accuracy_after_drift(plan.accuracy, general)), 4)
    return {
        "name": plan.name,
        "function_uri": plan.function_uri,
        "model": plan.model,
        "model_class": plan.model_class,
        "model_uri": f"store://models/{plan.function_uri.split('/')[0]}/{plan.model}" if plan.model else "",
        "labels": plan.labels,
        "feature_names": [r.name for r in refs],
        "label_names": ["prediction"] if refs else [],
        "feature_stats": {r.name: r.stats for r in refs},
        "current_stats": drift.current_stats if drift is not None else {},
        "drift_measures": drift.drift_measures if drift is not None else {},
        "drift_status": drift_status,
        "error_count": int(traffic.errors.sum()),
        "first_request": first,
        "last_request": last,
        "metrics": {
            "generic": {
                "latency_avg_1h": _last(metrics["latency_avg_1h"]),
                "predictions_per_second": _last(metrics["predictions_per_second"]),
            }
        },
        "endpoint_type": plan.endpoint_type,
        "sampling_percentage": plan.sampling_percentage,
        "predictions_per_second": _last(metrics["predictions_per_second"]),
        "latency_avg_5m": _last(metrics["latency_avg_5m"]),
        "latency_avg_1h": _last(metrics["latency_avg_1h"]),
        "predictions_count_5m": _last(metrics["predictions_count_5m"]),
        "predictions_count_1h": _last(metrics["predictions_count_1h"]),
        "accuracy": accuracy,
    }


def seed_project(stores: Stores, options: SeedOptions, progress: Callable[[int], None] | None = None) -> SeedReport:
    """Write ``options.endpoints`` endpoints with ``options.days`` of data; ``progress(1)`` after each.
    The same options (seed and end included) always write the same data."""
    options.validate()
    began = time.perf_counter()
    start, end, times = _time_axis(options)
    times_f = times.astype(np.float64)
    span = float(end - start)
    win = res.windows(start, end, times)
    plans = plan_endpoints(options.project, options.endpoints, options.features, options.seed)
    children: dict[int, Traffic] = {}  # traffic of router children, until their router is written
    child_ids = {c for plan in plans for c in plan.children}
    points = results = 0
    for index, plan in enumerate(plans):
        # One generator per endpoint: its data does not depend on how many endpoints come before it.
        rng = np.random.default_rng(np.random.SeedSequence([options.seed, 1, index]))
        if plan.endpoint_type == EndpointType.router:
            traffic = combine_router(plan, [children.pop(c) for c in plan.children], rng)
        else:
            traffic = simulate(plan, times_f, options.step_seconds, rng)
        if index in child_ids:
            children[index] = traffic
        metrics = metric_arrays(traffic, options.step_seconds)
        refs = feat.references(plan, rng)
        app_results = res.latency_results(plan.uid, win, traffic.counts, traffic.latency_us)
        feature_values: dict[str, FloatArray] = {}
        drift = None
        drift_status = int(ResultStatus.irrelevant)
        drift_series: dict[str, FloatArray] = {}
        counts = win.sums(traffic.counts)
        has_data = counts > 0
        if refs:
            feature_values = feat.feature_arrays(plan, refs, times_f, span, rng)
            drift = feat.window_drift(plan, refs, win.mids, counts, float(start), span, rng)
            drift_rows = res.drift_results(plan.uid, win, drift, has_data)
            if drift_rows:
                drift_status = drift_rows[-1].status
            app_results += drift_rows
            names = [ref.name for ref in refs]
            # Its own generator, so the other seeded values stay what they were before quality was seeded.
            quality_rng = np.random.default_rng(np.random.SeedSequence([options.seed, 2, index]))
            app_results += quality_results(plan.uid, win, drift.general_drift, has_data, names, quality_rng)
            drift_series = {
                "tvd_mean": drift.tvd_mean[has_data],
                "hellinger_mean": drift.hellinger_mean[has_data],
                "kld_mean": drift.kld_mean[has_data],
            }
        if plan.endpoint_type != EndpointType.router:
            general = drift.general_drift if drift is not None else None
            classifier = "Regress" not in plan.model_class
            app_results += res.performance_results(plan.uid, win, has_data, plan.accuracy, general, classifier, rng)
        # The record first: stores may tie series and results to an existing endpoint.
        record = _record(plan, traffic, metrics, times, refs, drift, drift_status)
        stores.endpoints.upsert(options.project, plan.uid, record)
        series, project = stores.series, options.project
        points += write_series_arrays(series, project, plan.uid, SeriesKind.metric, times, metrics)
        points += write_series_arrays(series, project, plan.uid, SeriesKind.feature, times, feature_values)
        points += write_series_arrays(series, project, plan.uid, SeriesKind.metric, win.ends[has_data], drift_series)
        results += stores.results.write(project, app_results)
        if progress is not None:
            progress(1)
    return SeedReport(
        project=options.project,
        endpoints=len(plans),
        points=points,
        results=results,
        start_ms=start,
        end_ms=end,
        seconds=time.perf_counter() - began,
    )
