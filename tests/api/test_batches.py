"""Batch inference through real HTTP: Parquet, CSV and JSON batches accepted by the api (202, staged) and
read by the ingest role's upload reader into the archive, series and ground truth; the controller analyses
each batch as one window; bad batches get a 4xx naming the fix, or, when only reading the file finds the
fault, a failed status naming it."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from grafana_proxy.archive.reader import read_window
from grafana_proxy.ingest.events import endpoint_uid
from grafana_proxy.model import EndpointType, SeriesKind, TimeRange
from grafana_proxy.monitoring.build import build_controller
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from tests.http_fixtures import Keys, stored

BASE = "/api/v1/projects/alpha"
PARQUET = {"Content-Type": "application/vnd.apache.parquet"}
MINUTE = 60_000


def frame(rows: int, start: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "f1": rng.normal(shift, 1, rows),
            "f2": rng.integers(0, 5, rows),
            "colour": rng.choice(["red", "blue"], rows),
            "prediction": rng.integers(0, 2, rows),
            "label": rng.integers(0, 2, rows),
            "timestamp": pd.to_datetime(start + np.arange(rows) * 1000, unit="ms", utc=True),
        }
    )


def parquet(df: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    df.to_parquet(buffer, index=False)
    return buffer.getvalue()


def test_parquet_batch_lands_like_traffic_and_is_analysed_as_one_window(
    client: TestClient, keys: Keys, stores: Stores, settings: Settings
) -> None:
    write = keys.header(keys.alpha_write)
    start = (int(time.time() * 1000) - 86_400_000) // MINUTE * MINUTE
    assert client.put(f"{BASE}/model-endpoints/bx", json={"name": "bx"}, headers=write).status_code == 200
    body = parquet(frame(3000, start))
    assert len(body) > settings.max_body_bytes // 4  # larger batches than JSON bodies are fine (own limit)
    answer = client.post(f"{BASE}/model-endpoints/bx/batches?batch_id=b1", content=body, headers={**write, **PARQUET})
    assert answer.status_code == 202 and answer.json()["batch_id"] == "b1", answer.text
    status = stored(client, answer, write)
    assert status["status"] == "done", status
    report = status["result"]
    assert report["rows"] == 3000 and report["labels"] == 3000 and report["features"] == ["f1", "f2", "colour"]
    assert (report["start"], report["end"]) == (start, start + 2999 * 1000 + 1)
    rows = read_window(settings.archive_location, "alpha", "bx", start, start + 3_000_000)
    assert len(rows) == 3000 and set(rows["colour"]) == {"red", "blue"} and rows["request_id"].iloc[0] == "b1-0"
    labels = stores.ground_truth.get("alpha", ["b1-0", "b1-2999"])
    assert set(labels) == {"b1-0", "b1-2999"}
    record = stores.endpoints.get("alpha", "bx")
    assert record is not None and record.feature_names == ["f1", "f2", "colour"] and record.label_names == ["label"]
    assert (record.first_request, record.last_request) == (start, start + 2999 * 1000)
    window = TimeRange(start, start + 3_600_000)
    counts = stores.series.query("alpha", ["bx"], SeriesKind.metric, ["predictions_count_5m"], window, 300_000, "sum")
    assert sum(v or 0 for v in counts[0].values) == 3000
    assert stores.series.names("alpha", "bx", SeriesKind.feature) == ["f1", "f2"]
    # Re-submitting the same batch id replaces its rows.
    again = client.post(f"{BASE}/model-endpoints/bx/batches?batch_id=b1", content=body, headers={**write, **PARQUET})
    assert stored(client, again, write)["status"] == "done"
    assert len(read_window(settings.archive_location, "alpha", "bx", start, start + 3_000_000)) == 3000

    controller = build_controller(Runtime.build(settings, stores))
    summary = controller.run_once(now=int(time.time() * 1000) + 3_600_000)
    assert summary.batches == 1, summary.failures
    results = stores.results.query("alpha", TimeRange(0, start + 10**8), ["bx"])
    # One window, the batch's own: the period windows holding its rows leave them to it (no double analysis).
    assert {(r.start_infer_time, r.end_infer_time) for r in results} == {(start, report["end"])}
    assert {r.application for r in results} >= {"system-performance", "model-performance"}
    assert client.get(f"{BASE}/batches/b1", headers=write).json()["analysed_at"] is not None
    assert controller.run_once(now=int(time.time() * 1000) + 3_600_000).batches == 0  # analysed once


def test_csv_and_json_batches_of_a_job_get_its_batch_endpoint(client: TestClient, keys: Keys, stores: Stores) -> None:
    write = keys.header(keys.alpha_write)
    csv = "x,y,score\n1.5,a,0.9\n2.5,b,0.1\n"
    answer = client.post(
        f"{BASE}/batches?job=nightly-scoring&prediction=score&time=2026-01-02T03:04:05Z",
        content=csv,
        headers={**write, "Content-Type": "text/csv"},
    )
    first = stored(client, answer, write)["result"]
    uid = endpoint_uid("alpha", "nightly-scoring", "nightly-scoring")
    assert first["endpoint_id"] == uid and first["start"] == 1767323045000
    record = stores.endpoints.get("alpha", uid)
    assert record is not None and record.endpoint_type == EndpointType.batch_ep and record.feature_names == ["x", "y"]
    records = [{"x": 3.0, "y": "c", "score": 0.5, "ts": "2026-01-02T04:00:00Z"}]
    second = client.post(
        f"{BASE}/batches?job=nightly-scoring&prediction=score&timestamp_column=ts", json=records, headers=write
    )
    assert stored(client, second, write)["result"]["rows"] == 1
    listed = client.get(f"{BASE}/model-endpoints/{uid}/batches", headers=keys.header(keys.alpha_read)).json()
    assert [b["rows"] for b in listed] == [2, 1]


def test_bad_batches_are_refused_with_the_reason(client: TestClient, keys: Keys) -> None:
    write = keys.header(keys.alpha_write)
    url = f"{BASE}/model-endpoints/ep1/batches"
    cases = [
        (url, b"a,b\n1,2\n", {"Content-Type": "text/csv"}, 400, "prediction column(s) prediction not in the batch"),
        (url + "?label=truth", b"a,prediction\n1,2\n", {"Content-Type": "text/csv"}, 400, "label column 'truth'"),
        (url, b"not parquet at all", PARQUET, 400, "Parquet"),
        (url, b"x", {"Content-Type": "image/png"}, 415, "Content-Type"),
        (url, b"[1, 2]", {"Content-Type": "application/json"}, 400, "list of row objects"),
        (url + "?time=yesterday-ish", b"a,prediction\n1,2\n", {"Content-Type": "text/csv"}, 400, "time"),
        (f"{BASE}/model-endpoints/ghost/batches", b"a,prediction\n1,2\n", {"Content-Type": "text/csv"}, 404, "job="),
        (url, b"a,prediction\n", {"Content-Type": "text/csv"}, 400, "no rows"),
        (
            url,
            b"[" + b'{"a": 1, "prediction": 1},' * 20_000 + b"{}]",
            {"Content-Type": "application/json"},
            413,
            "Parquet or CSV",
        ),
    ]
    for target, body, headers, status, reason in cases:
        answer = client.post(target, content=body, headers={**write, **headers})
        assert answer.status_code == status, (target, body, answer.text)
        assert reason in answer.json()["message"], (target, answer.json())
    read_only = client.post(
        url, content=b"a,prediction\n1,2\n", headers={**keys.header(keys.alpha_read), "Content-Type": "text/csv"}
    )
    assert read_only.status_code == 403


def test_faults_only_reading_finds_make_the_upload_fail_with_the_reason(
    client: TestClient, keys: Keys, settings: Settings
) -> None:
    """A Parquet file's columns and values are read by the ingest role: the api accepts the file, and its
    status says failed with the reason a 400 would have given; the staged file is removed either way."""
    write = keys.header(keys.alpha_write)
    url = f"{BASE}/model-endpoints/ep1/batches"
    no_prediction = parquet(pd.DataFrame({"a": [1.0, 2.0], "score": [0, 1]}))
    status = stored(client, client.post(url, content=no_prediction, headers={**write, **PARQUET}), write)
    assert status["status"] == "failed" and status["error"] == "invalid batch", status
    assert status["message"].startswith("prediction column(s) prediction not in the batch; its columns: a, score")
    bad_time = parquet(pd.DataFrame({"a": [1.0], "prediction": [1], "ts": ["not a time"]}))
    status = stored(
        client, client.post(url + "?timestamp_column=ts", content=bad_time, headers={**write, **PARQUET}), write
    )
    assert status["status"] == "failed" and "timestamp column 'ts'" in status["message"], status
    # A read key sees the status; another project's key does not; an unknown id is a 404.
    upload = f"{BASE}/uploads/{status['upload_id']}"
    assert client.get(upload, headers=keys.header(keys.alpha_read)).json()["status"] == "failed"
    assert client.get(upload.replace("/alpha/", "/beta/"), headers=keys.header(keys.all_read)).status_code == 404
    assert client.get(f"{BASE}/uploads/nope", headers=write).status_code == 404
    staged = Path(settings.archive_location) / "_uploads"
    assert not [p for p in staged.rglob("*") if p.is_file()], "staged files left behind"
