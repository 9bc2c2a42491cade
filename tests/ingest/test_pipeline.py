from __future__ import annotations

import time

import pandas as pd
import pytest

from grafana_proxy.archive import read_window
from grafana_proxy.ingest.config import IngestConfig
from grafana_proxy.ingest.events import endpoint_uid, parse_batch
from grafana_proxy.ingest.pipeline import IngestPipeline, SpoolLocked
from grafana_proxy.model import SeriesKind, TimeRange
from grafana_proxy.stores.base import Stores

NOW = int(time.time() * 1000) // 60_000 * 60_000
START = NOW - 20 * 60_000
UID = endpoint_uid("proj", "proj/serving:v1", "churn:2")


def _events(ids: range, error_every: int = 5) -> list[dict[str, object]]:
    return [
        {
            "function_uri": "proj/serving:v1",
            "model": "churn:2",
            "model_class": "sklearn.LogisticRegression",
            "timestamp": START + i * 1000,
            "request_id": f"req-{i}",
            "inputs": [[float(i), i % 3, "blue" if i % 2 else "red"]],
            "feature_names": ["age", "visits", "colour"],
            "outputs": [i % 2],
            "latency": 1000.0 + i,
            "error": "timeout" if i % error_every == 0 else None,
        }
        for i in ids
    ]


def test_events_register_the_endpoint_and_fill_windows_samples_and_archive(
    pipeline: IngestPipeline, stores: Stores
) -> None:
    pipeline.submit(parse_batch("proj", _events(range(100)), 1000))
    pipeline.drain(NOW)
    record = stores.endpoints.get("proj", UID)
    assert record is not None
    assert (record.name, record.function_uri, record.model, record.model_class) == (
        "churn",
        "proj/serving:v1",
        "churn:2",
        "sklearn.LogisticRegression",
    )
    assert record.feature_names == ["age", "visits", "colour"]
    assert record.error_count == 20
    assert (record.first_request, record.last_request) == (START, START + 99_000)
    assert record.predictions_count_1h == 100
    assert record.latency_avg_1h == pytest.approx(1049.5)
    assert record.metrics["generic"]["predictions_count_1h"] == 100

    rng = TimeRange(START - 60_000, NOW + 60_000)
    [count] = stores.series.query("proj", [UID], SeriesKind.metric, ["predictions_count_1h"], rng, 30_000, "max")
    assert max(v for v in count.values if v is not None) == 100
    # Every 2nd row (sample_window=2) is sampled; only numeric features become series.
    assert stores.series.names("proj", UID, SeriesKind.feature) == ["age", "visits"]
    [age] = stores.series.query("proj", [UID], SeriesKind.feature, ["age"], rng, 1000, "last")
    assert [v for v in age.values if v is not None] == [float(i) for i in range(1, 100, 2)]

    frame = read_window(pipeline.config.archive_url, "proj", UID, START, NOW)
    assert len(frame) == 100 and frame["request_id"].is_unique
    assert frame.attrs["feature_names"] == ["age", "visits", "colour"]
    assert frame["colour"].tolist()[:2] == ["red", "blue"]
    assert frame["prediction"].tolist()[:3] == [0.0, 1.0, 0.0]
    whole = pd.read_parquet(pipeline.config.archive_url)
    assert len(whole) == 100 and set(whole["endpoint_id"].astype(str)) == {UID}


def test_resent_request_ids_are_counted_once(pipeline: IngestPipeline, stores: Stores) -> None:
    pipeline.submit(parse_batch("proj", _events(range(50)), 1000))
    pipeline.submit(parse_batch("proj", _events(range(25, 75)), 1000))  # a client retry overlapping
    pipeline.drain(NOW)
    pipeline.submit(parse_batch("proj", _events(range(60)), 1000))  # and again after the flush
    pipeline.drain(NOW)
    record = stores.endpoints.get("proj", UID)
    assert record is not None and record.error_count == 15
    frame = read_window(pipeline.config.archive_url, "proj", UID, START, NOW)
    assert sorted(frame["request_id"]) == sorted(f"req-{i}" for i in range(75))


def test_positional_inputs_take_the_registered_feature_names(pipeline: IngestPipeline, stores: Stores) -> None:
    stores.endpoints.upsert("proj", "ep-x", {"feature_names": ["a", "b"], "error_count": 7})
    events = [
        {"endpoint_id": "ep-x", "timestamp": START + i, "request_id": str(i), "inputs": [i, 2 * i]} for i in range(4)
    ]
    pipeline.submit(parse_batch("proj", events + [{**events[0], "request_id": "e", "error": "bad"}], 100))
    pipeline.drain(NOW)
    frame = read_window(pipeline.config.archive_url, "proj", "ep-x", START, NOW)
    assert frame[["a", "b"]].values.tolist() == [[0, 0], [0, 0], [1, 2], [2, 4], [3, 6]]
    record = stores.endpoints.get("proj", "ep-x")
    assert record is not None and record.error_count == 8  # counts on from what the record held


def test_a_second_process_cannot_share_a_spool(pipeline: IngestPipeline, config: IngestConfig, stores: Stores) -> None:
    with pytest.raises(SpoolLocked):
        IngestPipeline(config, stores)


def test_reopening_replays_what_was_spooled_but_not_folded(config: IngestConfig, stores: Stores) -> None:
    first = IngestPipeline(config, stores)
    first.submit(parse_batch("proj", _events(range(30)), 1000))
    # Simulate a crash: nothing folded, the lock released by the dying process.
    first.spool.close()
    first._lock_file.close()
    second = IngestPipeline(config, stores)
    try:
        second.drain(NOW)
        frame = read_window(config.archive_url, "proj", UID, START, NOW)
        assert len(frame) == 30
    finally:
        second.stop()
