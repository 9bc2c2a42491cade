"""Stream ingest on real NATS JetStream and each database backend: two workers fold one stream exactly
once, merge their windows in the database, archive every event, and dead-letter a poison message."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace
from pathlib import Path

import nats
import pytest

from grafana_proxy.ingest.config import IngestConfig
from grafana_proxy.ingest.merged import MergedFold
from grafana_proxy.model import SeriesKind, TimeRange
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from grafana_proxy.stores.db import Database
from grafana_proxy.stores.engine import close_stores, create_db_engine, open_stores
from grafana_proxy.stores.folds import SqlFoldStore
from grafana_proxy.stream.config import StreamConfig
from grafana_proxy.stream.consumer import StreamWorker, dead_letter_source
from grafana_proxy.stream.watermark import oldest_stored
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
    # The events are half an hour old: with an hour of lateness no worker writes a point while the fold
    # runs (a written point is final; a batch folded after it would be late), and the emission after it
    # reads the buckets both workers merged.
    settings = settings_for(stream_settings, db_url, tmp_path / "data", window_lateness_seconds=3600)
    numbers = list(range(30)) + [3, 7, 7, 20]  # re-sent batches carry the same request ids
    publish(settings, [record(batch(n, SIZE)) for n in numbers])
    want = expected(numbers, SIZE)
    total_requests = sum(r for _, _, r in want.values())
    with workers(settings, 2) as started:
        wait_for(lambda: request_ids(stores) == total_requests and consumer_backlog(settings) == 0, 40, "the fold")
    assert sum(w.fold.fresh_events for w in started) == total_requests
    assert all(w.fold.fresh_events for w in started), "both workers took part"
    assert buckets(stores) == want
    emitter = MergedFold(
        replace(IngestConfig.from_settings(settings), window_lateness_seconds=0),
        stores,
        "emitter",
        dead_letter_source(StreamConfig.from_settings(settings)),
    )
    assert emitter.emit() > 0
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


def test_a_window_point_waits_for_a_batch_of_its_window_still_in_the_stream(
    stream_settings: dict[str, str], tmp_path: Path
) -> None:
    # A window point is final once written. Batch A is folded, batch B (same window, accepted in time)
    # still waits in the stream after the window's lateness has passed: the point must wait for B.
    settings = settings_for(
        stream_settings, f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "data", window_lateness_seconds=1
    )
    stores = open_stores(settings)
    when = int(time.time() * 1000)

    def events(prefix: str) -> list[dict[str, object]]:
        return [
            {"endpoint_id": UID, "timestamp": when, "request_id": f"{prefix}{i}", "inputs": [1.0]} for i in range(10)
        ]

    source = dead_letter_source(StreamConfig.from_settings(settings))
    fold = MergedFold(IngestConfig.from_settings(settings), stores, "test", source)
    try:
        fold.fold([(1, record(events("a")))])
        publish(settings, [record(events("b"))])
        time.sleep(2.5)  # the window has ended and its lateness passed: by the clock, its point is due
        ready = asyncio.run(_oldest(settings))
        assert ready is not None and ready <= int(time.time() * 1000) - 2_000
        assert fold.emit(ready_ms=ready) == 0, "a point was written while a batch of its window waited"
        with workers(settings, 1):
            wait_for(lambda: request_ids(stores) == 20 and consumer_backlog(settings) == 0, 20, "the fold")
            wait_for(lambda: bool((r := stores.endpoints.get(PROJECT, UID)) and r.predictions_count_5m), 20, "emit")
        rng = TimeRange(when - 60_000, when + 60_000)
        [count] = stores.series.query(PROJECT, [UID], SeriesKind.metric, ["predictions_count_5m"], rng, 1000, "max")
        assert max(v for v in count.values if v is not None) == 20  # A and B in one point
    finally:
        close_stores(stores)


async def _oldest(settings: Settings) -> int | None:
    client = await nats.connect(settings.stream_url, connect_timeout=2)
    try:
        return await oldest_stored(client.jetstream(), settings.stream_name)
    finally:
        await client.close()
