"""Helpers for the target tests: run a target string the way the protocol's dispatcher does (parse,
look up in the registry, reject unknown keys, call) against real stores, and seed a small project.

The stores come from the ``sqlite_stores`` fixture of tests/conftest.py (real SQLite on a temp file)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from grafana_proxy.auth import Access
from grafana_proxy.model import (
    AppResult,
    EndpointType,
    ResultKind,
    ResultStatus,
    SeriesKind,
    TimeRange,
)
from grafana_proxy.stores.base import Point, Stores
from grafana_proxy.targets.base import QueryContext
from grafana_proxy.targets.params import (
    check_keys,
    parse_target,
    require_target_endpoint,
)
from grafana_proxy.targets.registry import load_registry

DAY = 86_400_000
MINUTE = 60_000
# Midnight UTC of yesterday: recent enough that every tier (raw included) still holds the data.
T0 = (int(time.time() * 1000) // DAY - 1) * DAY
PROJECT = "fraud"
OTHER = "churn"

Run = Callable[..., Any]


def make_run(stores: Stores) -> Run:
    registry = load_registry()

    def run(
        target: str,
        kind: str = "query",
        access: Sequence[str] | None = None,
        time_range: TimeRange | None = None,
        step_ms: int = MINUTE,
        max_points: int = 11_000,
    ) -> Any:
        params = parse_target(target)
        name = require_target_endpoint(params)
        found = registry.get(name, kind)
        check_keys(params, found.params, name)
        ctx = QueryContext(
            params=params,
            time_range=time_range or TimeRange(T0, T0 + DAY),
            step_ms=step_ms,
            max_points=max_points,
            stores=stores,
            access=Access(None if access is None else frozenset(access)),
        )
        fn = getattr(found, kind)
        return fn(ctx)

    return run


@pytest.fixture
def run(sqlite_stores: Stores) -> Run:
    return make_run(sqlite_stores)


def _stats(mean: float, low: float, high: float) -> dict[str, Any]:
    return {"count": 100, "mean": mean, "min": low, "max": high, "std": 1.0, "hist": [[1, 2], [0, 1, 2]]}


@pytest.fixture
def seeded(sqlite_stores: Stores) -> Stores:
    """Project ``fraud``: ep-a (full stats, metrics, features, results), ep-b (bare), router ep-r.
    Project ``churn``: ep-c."""
    eps = sqlite_stores.endpoints
    eps.upsert(
        PROJECT,
        "ep-a",
        {
            "name": "alpha",
            "function_uri": "fraud/serving@abc",
            "model": "xgb:v1",
            "model_class": "XGBModel",
            "labels": {"team": "risk", "tier": "gold"},
            "feature_names": ["f1", "f2"],
            "feature_stats": {"f1": _stats(1.0, 0.0, 2.0), "f2": _stats(5.0, 4.0, 6.0)},
            "current_stats": {"f1": _stats(1.5, 0.5, 2.5)},
            "drift_measures": {
                "f1": {"tvd": 0.25, "hellinger": 0.3, "kld": 0.5},
                "f2": {"tvd": "n/a"},
                "tvd_sum": 0.25,
                "tvd_mean": 0.125,
                "hellinger_sum": 0.3,
                "hellinger_mean": 0.15,
                "kld_sum": 0.5,
            },
            "drift_status": int(ResultStatus.detected),
            "error_count": 3,
            "first_request": T0 + 1_000,
            "last_request": T0 + 2_000,
            "predictions_per_second": 2.5,
            "latency_avg_1h": 100.0,
            "accuracy": 0.9,
            "sampling_percentage": 50.0,
            "endpoint_type": int(EndpointType.node_ep),
        },
    )
    eps.upsert(
        PROJECT,
        "ep-b",
        {
            "name": "beta",
            "function_uri": "fraud/other@def",
            "model": "lr:v2",
            "labels": {"team": "ops"},
            "error_count": 1,
            "predictions_per_second": 1.5,
            "drift_status": int(ResultStatus.potential_detection),
            "endpoint_type": int(EndpointType.leaf_ep),
        },
    )
    eps.upsert(
        PROJECT,
        "ep-r",
        {
            "name": "router",
            "function_uri": "fraud/serving@abc",
            "model": "",
            "error_count": 100,
            "predictions_per_second": 4.0,
            "latency_avg_1h": 900.0,
            "drift_status": int(ResultStatus.detected),
            "endpoint_type": int(EndpointType.router),
        },
    )
    eps.upsert(OTHER, "ep-c", {"name": "gamma"})

    series = sqlite_stores.series
    # One point per minute for the first hour of the day, value = minute index.
    for uid, offset in (("ep-a", 0.0), ("ep-b", 100.0), ("ep-r", 1000.0)):
        series.write(
            PROJECT,
            uid,
            SeriesKind.metric,
            [Point("predictions_per_second", T0 + i * MINUTE, offset + i) for i in range(60)],
        )
    series.write(PROJECT, "ep-a", SeriesKind.metric, [Point("latency_avg_1h", T0 + i * MINUTE, 7.0) for i in range(60)])
    series.write(
        PROJECT,
        "ep-a",
        SeriesKind.feature,
        [Point(f, T0 + i * MINUTE, float(i) * (1 if f == "f1" else 10)) for f in ("f1", "f2") for i in range(60)],
    )

    sqlite_stores.results.write(
        PROJECT,
        [
            AppResult(
                "ep-a",
                "drift-app",
                "general_drift",
                int(ResultKind.data_drift),
                int(ResultStatus.no_detection),
                0.1,
                T0,
                T0 + 10 * MINUTE,
                {"note": "ok"},
            ),
            AppResult(
                "ep-a",
                "drift-app",
                "general_drift",
                int(ResultKind.data_drift),
                int(ResultStatus.detected),
                0.8,
                T0 + 10 * MINUTE,
                T0 + 20 * MINUTE,
                {"drift_status": 2},
            ),
            AppResult(
                "ep-b",
                "perf-app",
                "latency_spike",
                int(ResultKind.system_performance),
                int(ResultStatus.potential_detection),
                0.55,
                T0 + 20 * MINUTE,
                T0 + 30 * MINUTE,
                {},
            ),
        ],
    )
    return sqlite_stores
