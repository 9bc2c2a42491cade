"""Model metrics a Prometheus user expects, per endpoint, read from the stores at scrape time.

Labels: ``project``, ``endpoint_id``, ``endpoint_name``. The stores are read once per
``ttl`` seconds (an HA pair of Prometheus servers, or several scrapers, share one read), with the
narrow queries only: ``EndpointStore.summaries`` (no JSON columns) and ``SeriesStore.latest`` for the
drift aggregates (one row per series). 10,000 endpoints stay a few queries per project.

Predictions total and the latency histogram cannot be derived from stored averages, so the ingest
pipeline feeds them through :meth:`ModelMetrics.observe_predictions` (in-process counters; Prometheus
handles their reset on restart). Every family is filtered by the caller's projects at render time."""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric

from grafana_proxy.model import EndpointSummary, SeriesKind
from grafana_proxy.stores.base import Stores
from grafana_proxy.targets.base import Access

logger = logging.getLogger("grafana_proxy.observability")

LABELS = ("project", "endpoint_id", "endpoint_name")
# Aggregates the histogram-data-drift application writes as metric series of each endpoint.
DRIFT_MEASURES = ("tvd_mean", "hellinger_mean", "kld_mean")
# Model latency (the model's own inference time, MLRun keeps it in microseconds).
PREDICTION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
DEFAULT_TTL_SECONDS = 10.0


@dataclass
class _Traffic:
    """In-process prediction counts of one endpoint (fed by ingest)."""

    predictions: float = 0.0
    errors: float = 0.0
    latency_sum: float = 0.0
    buckets: list[float] = field(default_factory=lambda: [0.0] * (len(PREDICTION_BUCKETS) + 1))


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
        self._traffic: dict[tuple[str, str], _Traffic] = {}
        self._traffic_lock = threading.Lock()

    # -- ingest hook ----------------------------------------------------------------------------------

    def observe_predictions(
        self, project: str, endpoint_id: str, count: int, latencies_us: Iterable[float] = (), errors: int = 0
    ) -> None:
        """Count ``count`` predictions of one endpoint, with their latencies in microseconds (MLRun's
        unit) and how many failed. Call it once per batch and endpoint, not per event."""
        indexes = [bisect.bisect_left(PREDICTION_BUCKETS, value / 1_000_000) for value in latencies_us]
        with self._traffic_lock:
            traffic = self._traffic.setdefault((project, endpoint_id), _Traffic())
            traffic.predictions += count
            traffic.errors += errors
            for index, value in zip(indexes, latencies_us, strict=False):
                traffic.buckets[index] += 1
                traffic.latency_sum += value / 1_000_000

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
        return [*gauges.values(), errors, drift, *self._traffic_families(access, names)]

    def _traffic_families(self, access: Access, names: dict[tuple[str, str], str]) -> list[Metric]:
        total = CounterMetricFamily("model_endpoint_predictions", "Predictions counted by this process.", labels=LABELS)
        failed = CounterMetricFamily(
            "model_endpoint_prediction_errors", "Failed predictions counted by this process.", labels=LABELS
        )
        latency = HistogramMetricFamily(
            "model_endpoint_latency_seconds", "Model latency of predictions.", labels=LABELS
        )
        with self._traffic_lock:
            items = [
                (key, _Traffic(t.predictions, t.errors, t.latency_sum, list(t.buckets)))
                for key, t in self._traffic.items()
                if access.allows(key[0])
            ]
        for (project, uid), traffic in sorted(items, key=lambda item: item[0]):
            labels = [project, uid, names.get((project, uid), "")]
            total.add_metric(labels, traffic.predictions)
            failed.add_metric(labels, traffic.errors)
            cumulative, buckets = 0.0, []
            for bound, count in zip((*PREDICTION_BUCKETS, float("inf")), traffic.buckets, strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            latency.add_metric(labels, buckets, traffic.latency_sum)
        return [total, failed, latency]
