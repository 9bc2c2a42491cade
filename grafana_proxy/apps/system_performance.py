"""``system-performance``: latency and error rate of a window against thresholds.

Metrics: ``latency_mean_us``, ``latency_p50_us``, ``latency_p95_us``, ``latency_p99_us``,
``window_error_rate`` (share of the window's events with an error; not ``error_rate``, which is the stream
windows' 5-minute series and would collide with it at every window end), ``request_count``.
Results (kind system_performance):
``latency_p95`` (value in µs) and ``error_rate``, each potential/detected past its two thresholds.

Parameters (endpoint label > project > global): ``latency_potential_us`` (500,000 = 0.5 s),
``latency_detected_us`` (1,000,000), ``error_rate_potential`` (0.01), ``error_rate_detected`` (0.05);
each pair must satisfy 0 <= potential < detected."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from grafana_proxy.model import ResultKind
from grafana_proxy.monitoring.applications import (
    ApplicationContext,
    MetricValue,
    MonitoringApplication,
    Output,
    ResultValue,
)
from grafana_proxy.monitoring.thresholds import classify
from grafana_proxy.vocabulary import SYSTEM_PERFORMANCE


def _pair(ctx: ApplicationContext, stem: str, potential: float, detected: float) -> tuple[float, float]:
    """(potential, detected) thresholds of a measure that is worse when higher."""
    potential = ctx.float_param(f"{stem}_potential{'_us' if stem == 'latency' else ''}", potential)
    detected = ctx.float_param(f"{stem}_detected{'_us' if stem == 'latency' else ''}", detected)
    if not 0 <= potential < detected:
        raise ValueError(f"{stem} thresholds must satisfy 0 <= potential < detected (got {potential}, {detected})")
    return potential, detected


class SystemPerformance(MonitoringApplication):
    name = SYSTEM_PERFORMANCE
    params_schema: ClassVar[Mapping[str, type] | None] = {
        "latency_potential_us": float,
        "latency_detected_us": float,
        "error_rate_potential": float,
        "error_rate_detected": float,
    }

    def do_tracking(self, context: ApplicationContext) -> list[Output]:
        events = context.events
        out: list[Output] = [MetricValue("request_count", float(len(events)))]
        latency_low, latency_high = _pair(context, "latency", 500_000.0, 1_000_000.0)
        error_low, error_high = _pair(context, "error_rate", 0.01, 0.05)
        if "latency" in events.columns:
            latency = events["latency"].to_numpy(dtype=np.float64, na_value=np.nan)
            latency = latency[np.isfinite(latency)]
            if latency.size:
                p50, p95, p99 = (float(v) for v in np.quantile(latency, (0.5, 0.95, 0.99)))
                out += [
                    MetricValue("latency_mean_us", float(latency.mean())),
                    MetricValue("latency_p50_us", p50),
                    MetricValue("latency_p95_us", p95),
                    MetricValue("latency_p99_us", p99),
                    ResultValue(
                        "latency_p95",
                        p95,
                        ResultKind.system_performance,
                        classify(p95, latency_low, latency_high),
                        {"potential_us": latency_low, "detected_us": latency_high},
                    ),
                ]
        if len(events):
            errors = events["error"].notna() & (events["error"].astype(str) != "") if "error" in events else None
            rate = float(errors.mean()) if errors is not None else 0.0
            out += [
                MetricValue("window_error_rate", rate),
                ResultValue(
                    "error_rate",
                    rate,
                    ResultKind.system_performance,
                    classify(rate, error_low, error_high),
                    {"potential": error_low, "detected": error_high, "requests": len(events)},
                ),
            ]
        return out
