"""Service metrics on a registry the app owns: HTTP requests, targets, ingest, the controller.

Nothing here carries a project or endpoint name (those live in :mod:`.models`, filtered by key), so
this part of ``/metrics`` can never show another team's models. Every label has a bounded set of
values: route templates (never raw paths), target names from the registry, status codes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from grafana_proxy import __version__

logger = logging.getLogger("grafana_proxy.observability")

# Datasource answers are meant to come back before a user notices (tens of ms); the tail reaches
# seconds when a database is slow, so the buckets span both.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A controller run analyses every endpoint of every project: seconds to minutes.
RUN_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


@dataclass(frozen=True)
class IngestSnapshot:
    """What the ingest pipeline reports at scrape time.

    ``accepted_events_total`` counts events made durable by the events API and every gateway sharing the
    spool directory, over all their runs (Prometheus' ``rate()`` turns it into the ingest rate);
    ``backlog_records`` is how many write-ahead (spool) records wait to be folded into the stores,
    ``backlog_bytes`` their size when known."""

    accepted_events_total: int
    backlog_records: int = 0
    backlog_bytes: int | None = None
    # Spool records (and window point sets) moved to the dead-letter store since the process started.
    dead_lettered_total: int = 0
    # Batches the event stream (JetStream) did not acknowledge, answered 503; None: no stream here.
    publish_failures_total: int | None = None


IngestProvider = Callable[[], IngestSnapshot]


class _IngestCollector(Collector):
    """Asks the provider at scrape time, so the pipeline keeps its own counters and never imports
    prometheus_client; a failing provider drops these samples, never the whole scrape."""

    def __init__(self) -> None:
        self.provider: IngestProvider | None = None

    def collect(self) -> Iterable[Metric]:
        provider = self.provider
        if provider is None:
            return []
        try:
            snap = provider()
        except Exception as exc:  # the scrape must still answer with the other metrics
            logger.warning("ingest metrics provider failed: %s", type(exc).__name__)
            return []
        families: list[Metric] = [
            CounterMetricFamily(
                "grafana_proxy_ingest_events_accepted",
                "Events made durable (spooled) by the events API and every gateway sharing the spool directory.",
                value=snap.accepted_events_total,
            ),
            GaugeMetricFamily(
                "grafana_proxy_ingest_backlog_records",
                "Write-ahead records not yet folded into the stores.",
                value=snap.backlog_records,
            ),
            CounterMetricFamily(
                "grafana_proxy_ingest_dead_lettered",
                "Records the fold could not apply after its attempts, moved to the dead-letter store "
                "(grafana-proxy deadletter list).",
                value=snap.dead_lettered_total,
            ),
        ]
        if snap.publish_failures_total is not None:
            families.append(
                CounterMetricFamily(
                    "grafana_proxy_stream_publish_failures",
                    "Batches NATS JetStream did not acknowledge in time (answered 503; the client sends them again).",
                    value=snap.publish_failures_total,
                )
            )
        if snap.backlog_bytes is not None:
            families.append(
                GaugeMetricFamily(
                    "grafana_proxy_ingest_backlog_bytes",
                    "Size of the write-ahead records not yet folded.",
                    value=snap.backlog_bytes,
                )
            )
        return families


def outcome_of(error: BaseException | None) -> str:
    """``ok``, ``rejected`` (bad input or access: the caller's problem) or ``error`` (ours)."""
    if error is None:
        return "ok"
    status = getattr(error, "status", None)
    return "rejected" if isinstance(status, int) and 400 <= status < 500 else "error"


class ServiceMetrics:
    """The app's own ``CollectorRegistry`` (never the process-global default, so two apps in one
    process — tests, or serve plus gateway — keep separate numbers) and the metrics on it."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        Gauge("grafana_proxy_build_info", "Version of the running service.", ["version"], registry=r).labels(
            __version__
        ).set(1)
        self.http_requests = Counter(
            "grafana_proxy_http_requests",
            "HTTP requests by route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "grafana_proxy_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.target_requests = Counter(
            "grafana_proxy_target_requests",
            "Datasource targets run, by target_endpoint and outcome.",
            ["kind", "target_endpoint", "outcome"],
            registry=r,
        )
        self.target_duration = Histogram(
            "grafana_proxy_target_duration_seconds",
            "Time one target took (stores included).",
            ["kind", "target_endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        # The controller's metrics live on their own registry: in the controller role they are written to a
        # status file after each pass, and the api role's /metrics serves that file's text instead.
        self.controller = ControllerMetrics()
        self._controller_source: Callable[[], bytes | None] | None = None
        self._ingest = _IngestCollector()
        r.register(self._ingest)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        code = str(status)
        self.http_requests.labels(method, route, code).inc()
        self.http_duration.labels(method, route, code).observe(seconds)

    def observe_target(self, kind: str, name: str, seconds: float, error: BaseException | None) -> None:
        """Called by the protocol dispatcher for every target it ran (only registered target names,
        so a flood of random ``target_endpoint`` values cannot grow the label set)."""
        self.target_requests.labels(kind, name, outcome_of(error)).inc()
        self.target_duration.labels(kind, name).observe(seconds)

    def set_ingest_provider(self, provider: IngestProvider | None) -> None:
        self._ingest.provider = provider

    def observe_controller_run(self, seconds: float, failed_applications: Iterable[str] = ()) -> None:
        """One finished controller run; ``failed_applications`` names the applications that raised."""
        self.controller.observe_run(seconds, failed_applications)

    def set_controller_source(self, source: Callable[[], bytes | None] | None) -> None:
        """Where the controller's metrics come from at scrape time (another process's exposition text);
        when it gives None, or none is set, this process's own controller metrics are served."""
        self._controller_source = source

    def controller_exposition(self) -> bytes:
        source = self._controller_source
        if source is not None:
            try:
                text = source()
            except Exception as exc:  # the scrape must still answer with the other metrics
                logger.warning("controller metrics source failed: %s", type(exc).__name__)
                text = None
            if text is not None:
                return text
        return self.controller.exposition()

    @contextmanager
    def controller_run(self) -> Iterator[list[str]]:
        """``with metrics.controller_run() as failed: ...; failed.append(app_name)`` — a run that
        raises counts as failed with application ``controller``."""
        failed: list[str] = []
        started = time.perf_counter()
        try:
            yield failed
        except BaseException:
            failed.append("controller")
            raise
        finally:
            self.observe_controller_run(time.perf_counter() - started, failed)


class ControllerMetrics:
    """The monitoring controller's runs, on a registry of their own (see ``ServiceMetrics.controller``)."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.runs = Counter(
            "grafana_proxy_controller_runs", "Monitoring controller runs by outcome.", ["outcome"], registry=r
        )
        self.failures = Counter(
            "grafana_proxy_controller_application_failures",
            "Monitoring application invocations that failed.",
            ["application"],
            registry=r,
        )
        self.duration = Histogram(
            "grafana_proxy_controller_run_duration_seconds",
            "Duration of one controller run.",
            buckets=RUN_BUCKETS,
            registry=r,
        )
        self.last_run = Gauge(
            "grafana_proxy_controller_last_run_timestamp_seconds",
            "End of the last controller run (Unix time).",
            registry=r,
        )

    def observe_run(self, seconds: float, failed_applications: Iterable[str] = ()) -> None:
        failed = list(failed_applications)
        for application in failed:
            self.failures.labels(application).inc()
        self.runs.labels("failed" if failed else "ok").inc()
        self.duration.observe(seconds)
        self.last_run.set(time.time())

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
