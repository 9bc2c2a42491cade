"""Poison-pill isolation: a spool record that passes validation but cannot be applied moves to the
dead-letter store after a bounded number of attempts, and every record behind it is still folded.

The failing part is a real store (``SqlSeriesStore`` subclass on the test's database) that refuses
writes naming a given series, not a mock of the database; parametrized over the three backends."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson
import pytest

from grafana_proxy.ingest.config import IngestConfig
from grafana_proxy.ingest.pipeline import IngestPipeline
from grafana_proxy.model import SeriesKind, TimeRange
from grafana_proxy.stores.base import Point, Stores, StoreUnavailable
from grafana_proxy.stores.deadletters import SqlDeadLetterStore
from grafana_proxy.stores.series import SqlSeriesStore

NOW = int(time.time() * 1000) // 60_000 * 60_000
START = NOW - 20 * 60_000
UID = "ep-1"


class RefusingSeries(SqlSeriesStore):
    """Refuses (like a backend quirk would) any write holding a series named in ``refuse``."""

    refuse: set[str]
    outage: bool

    def write(self, project: str, endpoint_uid: str, kind: SeriesKind, points: Iterable[Point]) -> int:
        points = list(points)
        if self.outage:
            raise StoreUnavailable("database unavailable (test outage)")
        bad = sorted({p.name for p in points} & self.refuse)
        if bad:
            raise ValueError(f"series {bad[0]!r} refused by the store")
        return super().write(project, endpoint_uid, kind, points)


@pytest.fixture
def refusing(stores: Stores) -> RefusingSeries:
    real: SqlSeriesStore = stores.series  # type: ignore[assignment]
    series = RefusingSeries(real.db, real.retention)
    series.refuse = {"poison"}
    series.outage = False
    return series


@pytest.fixture
def guarded(config: IngestConfig, stores: Stores, refusing: RefusingSeries) -> Iterator[IngestPipeline]:
    bundle = dataclasses.replace(stores, series=refusing)
    opened = IngestPipeline(dataclasses.replace(config, sample_window=1), bundle)  # every row is sampled
    yield opened
    refusing.refuse = set()
    refusing.outage = False
    opened.stop()


def _batch(first: int, count: int, feature: str = "age") -> bytes:
    events = [
        {
            "endpoint_id": UID,
            "timestamp": START + i * 1000,
            "request_id": f"req-{i}",
            "inputs": [[float(i)]],
            "feature_names": [feature],
            "latency": 100.0,
        }
        for i in range(first, first + count)
    ]
    return orjson.dumps(events)


def _samples(stores: Stores, feature: str) -> int:
    rng = TimeRange(START, NOW + 60_000)
    data = stores.series.query("proj", [UID], SeriesKind.feature, [feature], rng, 60_000, "count")
    return int(sum(v or 0 for d in data for v in d.values))


def test_a_record_the_store_refuses_is_dead_lettered_and_later_records_are_applied(
    guarded: IngestPipeline, stores: Stores, refusing: RefusingSeries
) -> None:
    poison = _batch(10, 1, feature="poison")
    guarded.submit_raw("proj", _batch(0, 10), 10)
    guarded.submit_raw("proj", poison, 1)
    guarded.submit_raw("proj", _batch(11, 10), 10)
    guarded.drain(NOW)  # on the code before isolation this raised ValueError and stopped the fold here

    record = stores.endpoints.get("proj", UID)
    assert record is not None and record.predictions_count_1h == 20  # both valid batches, nothing lost
    letters = stores.dead_letters.letters()
    assert len(letters) == 1
    [letter] = letters
    assert letter.source == "spool:serve" and letter.attempts == guarded.config.ingest_max_attempts
    # The record byte for byte as the client sent it, and the error of its last attempt.
    assert letter.payload == b'{"project":"proj","batch":' + poison + b"}"
    assert "series 'poison' refused by the store" in letter.error
    assert guarded.dead_lettered() == 1
    assert guarded.backlog_records() == 0
    assert _samples(stores, "age") == 20 and _samples(stores, "poison") == 0

    # After the fix, the operator's replay applies it (and its request_id is not taken for a duplicate).
    refusing.refuse = set()
    assert stores.dead_letters.request_replay(letter.id)
    assert guarded.replay_requested() == 1
    guarded.drain(NOW)
    assert _samples(stores, "poison") == 1  # applied: its request_id was not taken for a duplicate
    assert stores.dead_letters.letters() == []


def test_an_outage_is_retried_and_never_dead_lettered(
    guarded: IngestPipeline, stores: Stores, refusing: RefusingSeries
) -> None:
    refusing.outage = True
    guarded.submit_raw("proj", _batch(0, 10), 10)
    for _ in range(guarded.config.ingest_max_attempts + 2):
        with pytest.raises(StoreUnavailable):
            guarded.drain(NOW)
    assert stores.dead_letters.letters() == []
    refusing.outage = False
    guarded.drain(NOW)
    record = stores.endpoints.get("proj", UID)
    assert record is not None and record.predictions_count_1h == 10
    assert _samples(stores, "age") == 10


def test_window_points_the_store_refuses_are_dead_lettered_and_replayable(
    guarded: IngestPipeline, stores: Stores, refusing: RefusingSeries
) -> None:
    refusing.refuse = {"predictions_count_1h"}
    guarded.submit_raw("proj", _batch(0, 10), 10)
    guarded.drain(NOW)
    store: SqlDeadLetterStore = stores.dead_letters
    [letter] = store.letters()
    assert letter.position.startswith("window:proj/ep-1@")
    record = stores.endpoints.get("proj", UID)
    assert record is not None and record.predictions_count_1h == 10  # the record itself was still updated

    refusing.refuse = set()
    store.request_replay(letter.id)
    assert guarded.replay_requested() == 1
    rng = TimeRange(START - 60_000, NOW + 60_000)
    [series] = stores.series.query("proj", [UID], SeriesKind.metric, ["predictions_count_1h"], rng, 30_000, "max")
    assert max(v for v in series.values if v is not None) == 10


def test_serve_counts_dead_letters_on_metrics_and_keeps_folding(
    stores: Stores, refusing: RefusingSeries, tmp_path: Path
) -> None:
    """Through the app: a poison batch between two valid ones over the events API; /metrics counts it."""
    from fastapi.testclient import TestClient

    from grafana_proxy.app import create_app
    from grafana_proxy.runtime import Runtime
    from grafana_proxy.settings import Settings
    from tests.http_fixtures import fold_here, make_keys

    keys = make_keys(stores)
    bundle = dataclasses.replace(stores, series=refusing)
    settings = Settings(data_dir=tmp_path / "serve", sample_window=1)
    header = {"X-V3io-Session-Key": keys.all_write, "Content-Type": "application/json"}
    runtime = Runtime.build(settings, bundle)
    pipeline = fold_here(runtime)
    with TestClient(create_app(runtime)) as client:
        for body in (_batch(0, 5), _batch(5, 1, feature="poison"), _batch(6, 5)):
            assert client.post("/api/v1/projects/proj/events", content=body, headers=header).status_code == 202
        pipeline.drain(NOW)
        text = client.get("/metrics", headers={"X-V3io-Session-Key": keys.all_read}).text
    pipeline.stop()
    assert "grafana_proxy_ingest_dead_lettered_total 1.0" in text
    assert _samples(stores, "age") == 10
