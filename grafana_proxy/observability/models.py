"""Model metrics a Prometheus user expects, per endpoint, read from the stores at scrape time.

Labels: ``project``, ``endpoint_id``, ``endpoint_name``. The stores are read once per
``ttl`` seconds (an HA pair of Prometheus servers, or several scrapers, share one read), with the
narrow queries only: ``EndpointStore.summaries`` (no JSON columns) and ``SeriesStore.latest`` for the
drift aggregates (one row per series). 10,000 endpoints stay a few queries per project.

Every family is filtered by the caller's projects at render time. Everything comes from the stores,
so any api process answers the same whichever process folded the events."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from grafana_proxy.model import EndpointSummary, SeriesKind
from grafana_proxy.stores.base import Stores

if TYPE_CHECKING:
    from grafana_proxy.auth import Access
from grafana_proxy.vocabulary import DRIFT_METRICS

logger = logging.getLogger("grafana_proxy.observability")

LABELS = ("project", "endpoint_id", "endpoint_name")
# Aggregates the histogram-data-drift application writes as metric series of each endpoint.
DRIFT_MEASURES = DRIFT_METRICS
DEFAULT_TTL_SECONDS = 10.0


@dataclass(frozen=True)
class _Snapshot:
    """One read of the stores: summaries and drift aggregates per project."""

    summaries: dict[str, list[EndpointSummary]]
    drift: dict[str, dict[tuple[str, str], tuple[int, float]]]


def _seconds(microseconds: float | None) -> float | None:
    return None if microseconds is None else microseconds / 1_000_000


class ModelMetrics:
    """Renders per-endpoint metric families for one caller (``Access``), from a cached snapshot."""

    def __init__(self, stores: Stores, ttl: float = DEFAULT_TTL_SECONDS, clock: Callable[[], float] = time.monotonic):
        self._stores = stores
        self._ttl = ttl
        self._clock = clock
        self._snapshot: _Snapshot | None = None
        self._taken = 0.0
        self._read_lock = threading.Lock()  # one store read at a time; concurrent scrapes wait for it

    # -- snapshot -------------------------------------------------------------------------------------

    def _read(self) -> _Snapshot:
        summaries: dict[str, list[EndpointSummary]] = {}
        drift: dict[str, dict[tuple[str, str], tuple[int, float]]] = {}
        for project in self._stores.endpoints.projects():
            summaries[project] = self._stores.endpoints.summaries(project)
            drift[project] = self._stores.series.latest(project, None, SeriesKind.metric, DRIFT_MEASURES)
        return _Snapshot(summaries, drift)

    def snapshot(self) -> _Snapshot:
        with self._read_lock:
            now = self._clock()
            if self._snapshot is None or now - self._taken >= self._ttl:
                self._snapshot = self._read()
                self._taken = self._clock()
            return self._snapshot

    # -- rendering ------------------------------------------------------------------------------------

    def families(self, access: Access) -> list[Metric]:
        snap = self.snapshot()
        gauges = {
            "predictions_per_second": GaugeMetricFamily(
                "model_endpoint_predictions_per_second",
                "Predictions per second over the last 5 minutes.",
                labels=LABELS,
            ),
            "latency_5m": GaugeMetricFamily(
                "model_endpoint_latency_avg_5m_seconds", "Average model latency over the last 5 minutes.", labels=LABELS
            ),
            "latency_1h": GaugeMetricFamily(
                "model_endpoint_latency_avg_1h_seconds", "Average model latency over the last hour.", labels=LABELS
            ),
            "drift_status": GaugeMetricFamily(
                "model_endpoint_drift_status",
                "-1 irrelevant, 0 no drift, 1 potential drift, 2 drift detected.",
                labels=LABELS,
            ),
            "last_request": GaugeMetricFamily(
                "model_endpoint_last_request_timestamp_seconds",
                "Time of the last prediction (Unix time).",
                labels=LABELS,
            ),
        }
        errors = CounterMetricFamily(
            "model_endpoint_errors", "Errors of the endpoint (record's error_count).", labels=LABELS
        )
        drift = GaugeMetricFamily(
            "model_endpoint_drift_measure", "Latest drift aggregate of the endpoint.", labels=(*LABELS, "measure")
        )
        names: dict[tuple[str, str], str] = {}
        for project, rows in snap.summaries.items():
            if not access.allows(project):
                continue
            for row in rows:
                labels = [project, row.uid, row.name]
                names[(project, row.uid)] = row.name
                values = {
                    "predictions_per_second": row.predictions_per_second,
                    "latency_5m": _seconds(row.latency_avg_5m),
                    "latency_1h": _seconds(row.latency_avg_1h),
                    "drift_status": float(row.drift_status),
                    "last_request": None if row.last_request is None else row.last_request / 1000,
                }
                for key, value in values.items():
                    if value is not None:
                        gauges[key].add_metric(labels, value)
                errors.add_metric(labels, float(row.error_count))
            for (uid, measure), (_ts, value) in sorted(snap.drift.get(project, {}).items()):
                drift.add_metric([project, uid, names.get((project, uid), ""), measure], value)
        return [*gauges.values(), errors, drift]
