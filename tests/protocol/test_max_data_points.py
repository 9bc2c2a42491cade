"""``maxDataPoints`` is never exceeded: property tests over time ranges, steps (intervalMs), tiers (the range's
age and the step pick raw points or the 10m/1h/1d rollups) and the three backends, through SimpleJSON's
/query and Infinity's /rows. Before the fix a range that started inside a bucket got ``maxDataPoints + 1``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grafana_proxy.app import create_app
from grafana_proxy.buckets import bucket_count, fit_step
from grafana_proxy.model import SeriesKind, TimeRange
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from tests.http_fixtures import make_keys

MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
NOW = int(time.time() * 1000) // MINUTE * MINUTE
PREFIX = "/api/grafana-proxy/model-endpoints"


@given(
    start=st.integers(0, 4_000_000_000_000),
    span=st.integers(0, 400 * DAY),
    step=st.integers(1, 40 * DAY),
    size=st.sampled_from([1, 600_000, HOUR, DAY]),
    points=st.integers(1, 11_000),
)
def test_fit_step_keeps_every_range_within_the_points(start: int, span: int, step: int, size: int, points: int) -> None:
    rng = TimeRange(start, start + span)
    step = -(-step // size) * size
    fitted = fit_step(rng, step, size, points)
    assert fitted >= step and fitted % size == 0
    assert bucket_count(rng, fitted) <= points


@pytest.fixture
def served(stores: Stores, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """One endpoint with a metric every minute over the last two days and every hour over sixty days
    before that: raw points, and every rollup tier, hold data."""
    stores.endpoints.upsert("alpha", "ep1", {"name": "churn"})
    recent = np.arange(NOW - 2 * DAY, NOW, MINUTE, dtype=np.int64)
    older = np.arange(NOW - 62 * DAY, NOW - 2 * DAY, HOUR, dtype=np.int64)
    times = np.concatenate([older, recent])
    stores.series.write_arrays("alpha", "ep1", SeriesKind.metric, "lat", times, np.sin(times / 1e7) + 2)
    keys = make_keys(stores)
    app = create_app(Runtime.build(Settings(data_dir=tmp_path), stores))
    with TestClient(app) as client:
        yield client, keys.all_read


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    age=st.integers(0, 63 * DAY),
    span=st.integers(MINUTE, 63 * DAY),
    jitter=st.integers(0, HOUR),
    points=st.integers(1, 1_500),
    interval=st.one_of(st.none(), st.integers(1, 3 * DAY)),
)
def test_series_never_exceed_max_data_points(
    served: tuple[TestClient, str], age: int, span: int, jitter: int, points: int, interval: int | None
) -> None:
    client, key = served
    end = NOW - age + jitter
    start = end - span
    body = {
        "range": {"from": start, "to": end},
        "targets": [{"target": "target_endpoint=metrics;project=alpha;endpoint_id=ep1;metric=lat", "refId": "A"}],
        "maxDataPoints": points,
        "intervalMs": interval,
    }
    reply = client.post(PREFIX + "/query", json=body, headers={"X-V3io-Session-Key": key})
    assert reply.status_code == 200, reply.text
    for frame in reply.json():
        assert len(frame["datapoints"]) <= points, (start, end, points, interval, len(frame["datapoints"]))
    rows = client.post(PREFIX + "/rows", json=body, headers={"X-V3io-Session-Key": key})
    assert rows.status_code == 200 and len(rows.json()) <= points
