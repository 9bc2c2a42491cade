"""Shared helpers for tests that go through the HTTP app: a client with real stores and keys."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from grafana_proxy.app import create_app
from grafana_proxy.deps import runtime_of
from grafana_proxy.ingest.config import IngestConfig
from grafana_proxy.ingest.pipeline import IngestPipeline
from grafana_proxy.ingest.uploads import UploadReader
from grafana_proxy.model import AppResult, SeriesKind
from grafana_proxy.observability import IngestSnapshot
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Point, Stores

PREFIX = "/api/grafana-proxy/model-endpoints"
HOUR = 3_600_000
DAY = 24 * HOUR
# "Now" for the seeded data: the start of today (UTC), so the points are inside every retention tier.
T0 = int(time.time() * 1000) // DAY * DAY


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class Keys:
    all_read: str
    all_write: str
    alpha_read: str
    alpha_write: str

    def header(self, key: str) -> dict[str, str]:
        return {"X-V3io-Session-Key": key}


def seed_small(stores: Stores) -> None:
    """Two projects; alpha has two endpoints (one a router) with a day of 1-min metrics."""
    stores.endpoints.upsert(
        "alpha",
        "ep1",
        {
            "name": "churn",
            "function_uri": "alpha/serving:latest",
            "model": "churn:1",
            "model_class": "XGB",
            "feature_names": ["f1", "f2"],
            "labels": {"team": "a"},
            "error_count": 3,
            "drift_status": 2,
            "first_request": T0 - 24 * HOUR,
            "last_request": T0,
            "predictions_per_second": 2.5,
            "latency_avg_1h": 1200.0,
            "feature_stats": {"f1": {"min": 0.0, "mean": 1.0, "max": 2.0}, "f2": {"min": 5.0, "mean": 6.0, "max": 7.0}},
            "current_stats": {"f1": {"min": 0.5, "mean": 1.5, "max": 2.5}},
            "drift_measures": {
                "f1": {"tvd": 0.2, "hellinger": 0.3, "kld": 0.4},
                "tvd_sum": 0.2,
                "tvd_mean": 0.2,
                "hellinger_sum": 0.3,
                "hellinger_mean": 0.3,
                "kld_sum": 0.4,
                "kld_mean": 0.4,
            },
        },
    )
    stores.endpoints.upsert("alpha", "router1", {"name": "router", "endpoint_type": 2, "error_count": 1})
    stores.endpoints.upsert("beta", "ep9", {"name": "secret-model", "model": "secret:1"})
    minutes = range(24 * 60)
    points = [Point("latency_avg_5m", T0 - 24 * HOUR + m * 60_000, 1000.0 + m) for m in minutes]
    points += [Point("predictions_per_second", T0 - 24 * HOUR + m * 60_000, 2.0) for m in minutes]
    stores.series.write("alpha", "ep1", SeriesKind.metric, points)
    stores.series.write(
        "alpha", "ep1", SeriesKind.feature, [Point("f1", T0 - HOUR + m * 60_000, float(m % 7)) for m in range(60)]
    )
    stores.results.write(
        "alpha",
        [
            AppResult("ep1", "histogram-data-drift", "general_drift", 0, 2, 0.8, T0 - 20 * 60_000, T0 - 10 * 60_000),
            AppResult("ep1", "histogram-data-drift", "general_drift", 0, 0, 0.1, T0 - 30 * 60_000, T0 - 20 * 60_000),
        ],
    )


def make_keys(stores: Stores) -> Keys:
    return Keys(
        all_read=stores.keys.create("all-read", None, "read")[1],
        all_write=stores.keys.create("all-write", None, "write")[1],
        alpha_read=stores.keys.create("alpha-read", ["alpha"], "read")[1],
        alpha_write=stores.keys.create("alpha-write", ["alpha"], "write")[1],
    )


def client_for(settings: Settings, stores: Stores) -> Iterator[TestClient]:
    with TestClient(create_app(Runtime.build(settings, stores)), raise_server_exceptions=False) as client:
        yield client


def fold_here(runtime: Runtime) -> IngestPipeline:
    """The ingest role inside this process (tests of the fold through the HTTP API): the events API hands
    batches straight to this pipeline, and /metrics reports it as the api role reports the ingest role."""
    pipeline = IngestPipeline(runtime.ingest, runtime.stores, clock=runtime.clock)
    runtime.events = pipeline
    runtime.metrics.set_ingest_provider(
        lambda: IngestSnapshot(
            accepted_events_total=pipeline.accepted_events,
            backlog_records=pipeline.backlog_records(),
            dead_lettered_total=pipeline.dead_lettered(),
        )
    )
    return pipeline


def ingest_of(client: TestClient) -> IngestPipeline:
    """The pipeline ``fold_here`` put behind ``client``'s app."""
    pipeline = runtime_of(client.app).events  # type: ignore[arg-type]
    assert isinstance(pipeline, IngestPipeline), "the app was not given fold_here(runtime)"
    return pipeline


@contextmanager
def uploads_here(settings: Settings, stores: Stores) -> Iterator[UploadReader]:
    """The ingest role's upload reader inside this process (tests of batch and training-row uploads through
    the HTTP API, which only stages the files)."""
    reader = UploadReader(IngestConfig.from_settings(settings), stores, settings.data_dir / "batches")
    reader.start()
    try:
        yield reader
    finally:
        reader.stop()


def stored(client: TestClient, answer: Any, headers: dict[str, str], timeout: float = 60.0) -> Any:
    """The status of an accepted upload (202) once the upload reader has stored or refused it."""
    assert answer.status_code == 202, answer.text
    url = answer.json()["status_url"]
    assert answer.headers["location"] == url
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(url, params={"wait": 5}, headers=headers)
        assert status.status_code == 200, status.text
        if status.json()["status"] in ("done", "failed"):
            return status.json()
        assert time.monotonic() < deadline, f"upload still {status.json()['status']} after {timeout} s"
