"""SIGKILL one of two real `grafana-proxy run ingest` processes in stream mode mid-consumption, start it
again: every event is still counted exactly once and archived."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from grafana_proxy.stores.base import Stores
from tests.stream.helpers import (
    archived,
    batch,
    buckets,
    consumer_backlog,
    expected,
    ingest_process,
    publish,
    record,
    request_ids,
    settings_for,
    wait_for,
)

SIZE = 200
BATCHES = 60


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_sigkill_mid_consumption_loses_and_doubles_nothing(
    stream_settings: dict[str, str], db_url: str, stores: Stores, tmp_path: Path
) -> None:
    settings = settings_for(stream_settings, db_url, tmp_path / "data", archive_batch_seconds=1.0)
    numbers = list(range(BATCHES))
    publish(settings, [record(batch(n, SIZE)) for n in numbers])
    total = BATCHES * SIZE
    first = ingest_process(settings, tmp_path / "a")
    second = ingest_process(settings, tmp_path / "b")
    restarted = None
    try:
        wait_for(lambda: request_ids(stores) >= total // 4, 40, "the fold to start")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert request_ids(stores) < total, "killed before the end"
        restarted = ingest_process(settings, tmp_path / "a")
        wait_for(lambda: request_ids(stores) == total and consumer_backlog(settings) == 0, 60, "the fold to finish")
    finally:
        for proc in (first, second, restarted):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(20)
    assert buckets(stores) == expected(numbers, SIZE)
    frame = archived(settings)
    # Every event archived; a message killed between its archive flush and its ack is archived twice.
    assert set(zip(frame["request_id"], frame["row"], strict=True)) == {
        (f"b{n}-{i}", r) for n in numbers for i in range(SIZE) for r in range(2 if i % 4 == 0 else 1)
    }
