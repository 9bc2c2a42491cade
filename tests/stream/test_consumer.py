"""Stream ingest on real NATS JetStream and each database backend: two workers fold one stream exactly
once, merge their windows in the database, archive every event, and dead-letter a poison message."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from grafana_proxy.ingest.config import IngestConfig
from grafana_proxy.model import SeriesKind, TimeRange
from grafana_proxy.stores.base import Stores
from grafana_proxy.stores.db import Database
from grafana_proxy.stores.engine import create_db_engine
from grafana_proxy.stores.folds import SqlFoldStore
from grafana_proxy.stream.config import StreamConfig
from grafana_proxy.stream.consumer import StreamWorker, dead_letter_source
from tests.stream.helpers import (
    NOW,
    PROJECT,
    START,
    UID,
    archived,
    batch,
    buckets,
    consumer_backlog,
    expected,
    publish,
    record,
    request_ids,
    settings_for,
    wait_for,
    workers,
)

SIZE = 40


def test_two_workers_fold_every_event_once(
    stream_settings: dict[str, str], db_url: str, stores: Stores, tmp_path: Path
) -> None:
    settings = settings_for(stream_settings, db_url, tmp_path / "data")
    numbers = list(range(30)) + [3, 7, 7, 20]  # re-sent batches carry the same request ids
    publish(settings, [record(batch(n, SIZE)) for n in numbers])
    want = expected(numbers, SIZE)
    total_requests = sum(r for _, _, r in want.values())
    with workers(settings, 2) as started:
        wait_for(lambda: request_ids(stores) == total_requests and consumer_backlog(settings) == 0, 40, "the fold")
        wait_for(lambda: (r := stores.endpoints.get(PROJECT, UID)) is not None and r.predictions_count_1h, 20, "emit")
    assert sum(w.fold.fresh_events for w in started) == total_requests
    assert all(w.fold.fresh_events for w in started), "both workers took part"
    assert buckets(stores) == want
    record_ = stores.endpoints.get(PROJECT, UID)
    assert record_ is not None
    assert record_.error_count == sum(e for _, e, _ in want.values())
    assert record_.first_request == START
    assert record_.predictions_count_1h == sum(c for c, _, _ in want.values())
    rng = TimeRange(START - 60_000, NOW + 120_000)
    [count] = stores.series.query(PROJECT, [UID], SeriesKind.metric, ["predictions_count_1h"], rng, 1000, "max")
    assert max(v for v in count.values if v is not None) == record_.predictions_count_1h
    assert stores.series.names(PROJECT, UID, SeriesKind.feature) == ["n", "x"]
    frame = archived(settings)
    assert len(frame) == sum(c for c, _, _ in want.values())
    assert not frame.duplicated(["request_id", "row"]).any()


def test_poison_is_dead_lettered_and_a_replay_is_folded(
    stream_settings: dict[str, str], db_url: str, stores: Stores, tmp_path: Path
) -> None:
    settings = settings_for(stream_settings, db_url, tmp_path / "data")
    poison = b'{"project":"p","batch":[{"endpoint_id":"ep"}]}'  # no request id, no timestamp
    publish(settings, [record(batch(1, 5)), poison, record(batch(2, 5))])
    source = dead_letter_source(StreamConfig.from_settings(settings))
    with workers(settings, 1):
        wait_for(lambda: stores.dead_letters.count(source) == 1 and consumer_backlog(settings) == 0, 30, "letter")
        [letter] = stores.dead_letters.letters(source)
        assert letter.payload == poison and letter.attempts == settings.ingest_max_attempts
        assert request_ids(stores) == 10
        # An operator fixes a record and asks for its replay: the worker publishes it again and folds it.
        fixed = stores.dead_letters.add(source, "fixed", record(batch(3, 5)), "was broken", 2)
        assert stores.dead_letters.request_replay(fixed)
        wait_for(lambda: request_ids(stores) == 15, 20, "the replay")
        assert [item.payload for item in stores.dead_letters.letters(source)] == [poison]
    assert consumer_backlog(settings) == 0  # the poison is not redelivered forever


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_database_outage_naks_without_dead_letters(
    stream_settings: dict[str, str], db_url: str, stores: Stores, tmp_path: Path
) -> None:
    """The fold's database unreachable: messages come back later, nothing is dead-lettered."""
    settings = settings_for(stream_settings, db_url, tmp_path / "data")
    publish(settings, [record(batch(n, 5)) for n in range(3)])
    down = SqlFoldStore(Database(create_db_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")))
    worker = StreamWorker(
        StreamConfig.from_settings(settings), IngestConfig.from_settings(settings), replace(stores, folds=down)
    )
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        stop.wait(4.5)  # several deliveries of each message (ingest_max_attempts is 2)
    finally:
        stop.set()
        thread.join(20)
    assert stores.dead_letters.count() == 0
    assert consumer_backlog(settings) == 3
    with workers(settings, 1):
        wait_for(lambda: request_ids(stores) == 15 and consumer_backlog(settings) == 0, 30, "the fold after it")
