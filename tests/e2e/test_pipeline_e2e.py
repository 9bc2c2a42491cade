"""The monitoring pipeline end to end on SQLite and PostgreSQL: a real model service (``demo_model``) behind the real
gateway, traffic through it with a drift part-way, reference statistics PUT over HTTP, the controller run
once (``grafana-proxy controller --once``), then the datasource over HTTP shows the drift.

Everything runs on loopback ports; the base period is 3 s (``monitoring_base_period_minutes`` 0.05) and
the stream windows emit every second, so a run takes seconds, not hours."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from grafana_proxy.app import create_app
from grafana_proxy.cli.main import app as cli_app
from grafana_proxy.demo_model import FEATURES, create_demo_model_app
from grafana_proxy.gateway.run import build_gateway
from grafana_proxy.ingest.events import endpoint_uid
from grafana_proxy.ingest.pipeline import IngestPipeline
from grafana_proxy.monitoring.stats import reference_stats
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.engine import close_stores, open_stores
from grafana_proxy.traffic import TrafficReport, run_traffic, training_frame
from tests.conftest import _pg_schema
from tests.servers import serve_in_thread

PROJECT = "e2e"
FUNCTION = "iris"
PERIOD_S = 3.0  # the controller's base period
TRAFFIC_S = 15.0
DRIFT_AFTER_S = 7.5
RATE = 40.0
PREFIX = "/api/grafana-proxy/model-endpoints"
KEY_HEADER = "X-V3io-Session-Key"
# Everything that makes the run short; the names are real settings (GRAFANA_PROXY_<NAME>).
FAST = {
    "monitoring_base_period_minutes": PERIOD_S / 60,
    "monitoring_window_delay_seconds": 0.0,
    "window_period_seconds": 1.0,
    "window_lateness_seconds": 0.5,
    "archive_batch_seconds": 0.5,
    "sample_window": 5,
    "controller_in_serve": False,  # the test runs the controller once, as `controller --once`
}


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'grafana-proxy.db'}"
    else:
        yield from _pg_schema(request.getfixturevalue("_pg_database"))


def _query(http: httpx.Client, target: str, start: int, end: int) -> list[dict[str, Any]]:
    body = {"targets": [{"target": target, "refId": "A"}], "range": {"from": start, "to": end}, "maxDataPoints": 5000}
    reply = http.post(PREFIX + "/query", json={**body, "from": start, "to": end})
    assert reply.status_code == 200, (target, reply.text)
    frames: list[dict[str, Any]] = reply.json()
    return frames


def _table(frame: dict[str, Any]) -> list[dict[str, Any]]:
    names = [c["text"] for c in frame["columns"]]
    return [dict(zip(names, row, strict=True)) for row in frame["rows"]]


def _wait_for(check: Any, what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_traffic_through_the_gateway_shows_drift_in_the_datasource(backend_url: str, tmp_path: Path) -> None:
    began = time.monotonic()
    settings = Settings(db_url=backend_url, data_dir=tmp_path / "data", **FAST)
    stores = open_stores(settings)
    read_key = stores.keys.create("grafana", [PROJECT], "read")[1]
    write_key = stores.keys.create("writer", [PROJECT], "write")[1]
    uid = endpoint_uid(PROJECT, f"{PROJECT}/{FUNCTION}", "classifier")
    traffic: list[TrafficReport] = []
    runtime = Runtime.build(settings, stores)
    # The ingest role, in a thread here: it folds what the gateway records into its inbox.
    ingest = IngestPipeline(runtime.ingest, stores)
    ingest.start()
    try:
        with (
            serve_in_thread(create_demo_model_app()) as model_url,
            serve_in_thread(create_app(runtime)) as serve_url,
        ):
            gateway = build_gateway(runtime, model_url, PROJECT, function=FUNCTION)
            with serve_in_thread(gateway.app) as gateway_url:
                start_ms = int(time.time() * 1000)
                sender = threading.Thread(
                    target=lambda: traffic.append(
                        run_traffic(gateway_url, RATE, TRAFFIC_S, DRIFT_AFTER_S, error_share=0.05, seed=3)
                    )
                )
                sender.start()
                with httpx.Client(base_url=serve_url, timeout=10) as writer:
                    writer.headers[KEY_HEADER] = write_key
                    record_url = f"/api/v1/projects/{PROJECT}/model-endpoints/{uid}"
                    # The gateway registers the endpoint on its first call; then the training stats go in.
                    _wait_for(lambda: writer.get(record_url).status_code == 200, "the endpoint's registration")
                    put = writer.put(record_url, json={"feature_stats": reference_stats(training_frame())})
                    assert put.status_code == 200, put.text
                sender.join(TRAFFIC_S + 30)
                assert not sender.is_alive()
            # The gateway has stopped: its queue is in its inbox; the ingest role folds the rest.
            ingest.stop()
            drift_ms = start_ms + int(DRIFT_AFTER_S * 1000)
            end_ms = int(time.time() * 1000)
            time.sleep(max(0.0, (end_ms // 3000 + 1) * 3000 - time.time() * 1000) / 1000)  # last window over

            env = {f"GRAFANA_PROXY_{k.upper()}": str(v) for k, v in FAST.items()}
            env.update(GRAFANA_PROXY_DB_URL=backend_url, GRAFANA_PROXY_DATA_DIR=str(tmp_path / "data"))
            ran = CliRunner().invoke(cli_app, ["controller", "--once"], env=env)
            assert ran.exit_code == 0 and "failures 0" in ran.output, ran.output

            with httpx.Client(base_url=serve_url, timeout=10) as http:
                http.headers[KEY_HEADER] = read_key
                check_datasource(http, uid, start_ms - 60_000, int(time.time() * 1000) + 60_000, drift_ms)
    finally:
        ingest.stop()
        close_stores(stores)
    (report,) = traffic
    assert report.sent >= RATE * TRAFFIC_S * 0.8 and report.drifted > 0 and 0 < report.failed < report.sent / 5
    assert time.monotonic() - began < 60


def check_datasource(http: httpx.Client, uid: str, start: int, end: int, drift_ms: int) -> None:
    base = f"project={PROJECT};endpoint_id={uid}"

    (frame,) = _query(http, f"target_endpoint=list_endpoints;project={PROJECT}", start, end)
    (row,) = _table(frame)
    assert row["endpoint_id"] == uid and row["endpoint_name"] == "classifier"
    assert row["drift_status"] in (1, 2)  # potential or detected, written by histogram-data-drift
    assert row["error_count"] > 0 and row["predictions_per_second"] > 0
    assert row["first_request"] <= drift_ms <= row["last_request"]

    metrics = {
        f["target"]: f["datapoints"]
        for f in _query(
            http, f"target_endpoint=metrics;{base};metric=predictions_per_second,error_rate,tvd_mean", start, end
        )
    }
    assert set(metrics) == {"predictions_per_second", "error_rate", "tvd_mean"}
    assert max(v for v, _ in metrics["predictions_per_second"] if v is not None) > 0
    assert all(0 <= v <= 1 for v, _ in metrics["error_rate"] if v is not None)
    assert max(v for v, _ in metrics["error_rate"] if v is not None) > 0
    tvd = [(t, v) for v, t in metrics["tvd_mean"] if v is not None]
    assert max(v for t, v in tvd if t - PERIOD_S * 1000 >= drift_ms) > 0.5

    features = {
        f["target"]: f["datapoints"] for f in _query(http, f"target_endpoint=incoming_features;{base}", start, end)
    }
    assert set(features) == set(FEATURES) and all(len(points) > 5 for points in features.values())
    # The sampled values move after the drift (sepal_length by +3 standard deviations).
    before = [v for v, t in features["sepal_length"] if t < drift_ms]
    after = [v for v, t in features["sepal_length"] if t >= drift_ms + 1000]
    assert sum(after) / len(after) > sum(before) / len(before) + 1.5

    (frame,) = _query(http, f"target_endpoint=individual_feature_analysis;{base}", start, end)
    analysis = {r["feature_name"]: r for r in _table(frame)}
    assert set(analysis) == set(FEATURES)
    for r in analysis.values():
        assert r["tvd"] > 0.3 and r["hellinger"] > 0.3 and r["kld"] > 0  # the last window is drifted
        assert r["expected_mean"] < r["actual_mean"] or r["feature_name"] == "sepal_width"

    (frame,) = _query(
        http,
        f"target_endpoint=app_results;{base};application=histogram-data-drift;name=general_drift;field=status",
        start,
        end,
    )
    statuses = [(t, v) for v, t in frame["datapoints"]]
    (frame,) = _query(
        http, f"target_endpoint=app_results;{base};application=histogram-data-drift;name=general_drift", start, end
    )
    values = [(t, v) for v, t in frame["datapoints"]]
    window = int(PERIOD_S * 1000)
    assert len(values) >= 4  # one verdict per 3-second window of traffic
    # Point times are window ends: windows wholly after the drift are flagged, the calm ones are not.
    assert all(s >= 1 for t, s in statuses if t - window >= drift_ms)
    assert min(v for t, v in values if t <= drift_ms) < 0.5
    assert max(v for t, v in values if t - window >= drift_ms) >= 0.7

    annotation = {"name": "drift", "enable": True, "query": f"project={PROJECT};endpoint_id={uid}"}
    body = {"range": {"from": start, "to": end}, "rangeRaw": {"from": "now-1h", "to": "now"}, "annotation": annotation}
    reply = http.post(PREFIX + "/annotations", json=body)
    assert reply.status_code == 200, reply.text
    events = reply.json()
    drifts = [e for e in events if "histogram-data-drift" in e["tags"]]
    assert drifts and all(e["time"] >= drift_ms - window for e in drifts)
    # 5% of the calls fail: system-performance flags the error rate (potential at 1%) all along.
    assert any("system-performance" in e["tags"] and e["time"] < drift_ms for e in events)
