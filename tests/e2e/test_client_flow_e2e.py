"""MLRun's monitoring flow as Python client calls, end to end on a fresh server (SQLite and PostgreSQL):
log the reference, enable monitoring with a base period, set an application, send traffic through the
gateway, submit a batch, read the results (client and datasource); then two projects with different base
periods and application sets, checked window by window.

The controller is the real one (``build_controller``), run once with its clock a few minutes ahead, so the
1-minute minimum base period needs no waiting."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from grafana_proxy.app import create_app
from grafana_proxy.archive.reader import read_window
from grafana_proxy.client import BadRequest, Client
from grafana_proxy.demo_model import FEATURES, create_demo_model_app, predict_proba
from grafana_proxy.gateway.run import build_gateway
from grafana_proxy.ingest.events import endpoint_uid
from grafana_proxy.ingest.pipeline import IngestPipeline
from grafana_proxy.monitoring.build import build_controller
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.engine import close_stores, open_stores
from grafana_proxy.traffic import run_traffic, sample, training_frame
from tests.conftest import _pg_schema
from tests.http_fixtures import uploads_here
from tests.servers import serve_in_thread

MINUTE = 60_000
PREFIX = "/api/grafana-proxy/model-endpoints"
FAST = {
    "monitoring_window_delay_seconds": 0.0,
    "window_period_seconds": 1.0,
    "window_lateness_seconds": 0.5,
    "archive_batch_seconds": 0.5,
    "sample_window": 5,
    "controller_in_serve": False,  # the test runs the controller itself, with its clock ahead
}

# Enabling monitoring starts a project from the global application list; the flow replaces the drift one.
GLOBAL_APPS: list[str] = list(Settings.model_fields["monitoring_applications"].default)
EXPECTED_APPS = {"drift", *GLOBAL_APPS} - {"histogram-data-drift"}


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'grafana-proxy.db'}"
    else:
        yield from _pg_schema(request.getfixturevalue("_pg_database"))


def wait_for(check: Any, what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return value


def scored_batch(rows: int, drifted: bool) -> pd.DataFrame:
    """What a batch-inference job produces: features, the model's prediction and the true label."""
    rng = np.random.default_rng(11)
    df = pd.DataFrame(sample(rng, drifted, rows), columns=list(FEATURES))
    proba = predict_proba(df.to_numpy())
    df["prediction"] = (proba > 0.5).astype(int)
    df["label"] = (rng.random(rows) < proba).astype(int)
    return df


def query(http: httpx.Client, target: str, start: int, end: int) -> list[dict[str, Any]]:
    body = {"targets": [{"target": target, "refId": "A"}], "range": {"from": start, "to": end}}
    reply = http.post(PREFIX + "/query", json={**body, "from": start, "to": end})
    assert reply.status_code == 200, (target, reply.text)
    frames: list[dict[str, Any]] = reply.json()
    return frames


def test_mlrun_flow_through_the_client(backend_url: str, tmp_path: Path) -> None:
    settings = Settings(db_url=backend_url, data_dir=tmp_path / "data", **FAST)
    stores = open_stores(settings)
    write_key = stores.keys.create("notebook", ["shop", "alpha", "beta"], "write")[1]
    read_key = stores.keys.create("grafana", ["shop", "alpha", "beta"], "read")[1]
    uid = endpoint_uid("shop", "shop/iris", "classifier")
    runtime = Runtime.build(settings, stores)
    # The ingest role, in threads here: it folds what the events API and the gateway accept, and reads the
    # uploaded reference rows and batch.
    ingest = IngestPipeline(runtime.ingest, stores)
    ingest.start()
    try:
        with (
            serve_in_thread(create_demo_model_app()) as model_url,
            serve_in_thread(create_app(runtime)) as url,
            uploads_here(settings, stores),
            Client(url, key=write_key, project="shop") as gp,
        ):
            # 1. The model's training set as its reference.
            gp.log_reference(training_frame(), endpoint=uid)
            # 2. Monitoring with a base period; 3. an application of its own (and one the project does not want).
            assert gp.enable_monitoring(base_period_minutes=1).base_period_minutes == 1
            with pytest.raises(BadRequest, match="drift_potential < drift_detected"):
                gp.set_application(
                    "drift", "histogram-data-drift", params={"drift_potential": 0.9, "drift_detected": 0.5}
                )
            gp.set_application("drift", "histogram-data-drift", params={"drift_potential": 0.3, "drift_detected": 0.5})
            gp.remove_application("histogram-data-drift")
            # 4. Traffic through the gateway (drifted from the start).
            traffic_start = int(time.time() * 1000)
            gateway = build_gateway(runtime, model_url, "shop", function="iris")
            with serve_in_thread(gateway.app) as gateway_url:
                report = run_traffic(gateway_url, 40.0, 4.0, drift_after=0.0, seed=5)
            assert report.sent > 100 and report.failed == 0
            # 5. A batch of the same model, scored half an hour ago, with labels.
            batch_time = traffic_start - 30 * MINUTE
            batch = gp.submit_batch(scored_batch(2000, drifted=False), endpoint=uid, label="label", time=batch_time)
            assert (batch.rows, batch.labels, batch.start) == (2000, 2000, batch_time)
            archive = settings.archive_location
            wait_for(lambda: len(read_window(archive, "shop", uid, traffic_start, traffic_start + MINUTE)), "archive")

            summary = build_controller(runtime).run_once(now=int(time.time() * 1000) + 2 * MINUTE)
            assert not summary.failures and summary.batches == 1

            # 6. Results: the batch as one window (labels joined: accuracy), the traffic's windows drifted.
            results = gp.results(traffic_start - 40 * MINUTE, traffic_start + 5 * MINUTE, endpoint=uid)
            by_window = {(r.application, r.name, r.start_infer_time): r for r in results}
            accuracy = by_window[("model-performance", "accuracy", batch_time)]
            assert accuracy.end_infer_time == batch.end and 0.5 < accuracy.value <= 1
            assert by_window[("drift", "general_drift", batch_time)].status == 0  # the batch is not drifted
            traffic_drift = [
                r for r in results if r.name == "general_drift" and r.start_infer_time >= traffic_start - MINUTE
            ]
            assert traffic_drift and all(r.status == 2 for r in traffic_drift)
            assert {r.application for r in results} == EXPECTED_APPS
            apps = {a.name: a for a in gp.applications()}
            assert apps["drift"].results >= 2 and apps["drift"].last_run is not None and apps["drift"].errors == 0
            assert gp.batch(batch.batch_id).analysed_at is not None

            # The same results where the dashboards read them.
            with httpx.Client(base_url=url, headers={"X-V3io-Session-Key": read_key}, timeout=10) as http:
                search = http.post(
                    PREFIX + "/search",
                    json={"target": f"target_endpoint=list_applications;project=shop;endpoint_id={uid}"},
                )
                assert set(search.json()) == EXPECTED_APPS
                start, end = traffic_start - 40 * MINUTE, traffic_start + 5 * MINUTE
                (status,) = query(
                    http,
                    f"target_endpoint=app_results;project=shop;endpoint_id={uid};application=drift;name=general_drift;field=status",
                    start,
                    end,
                )
                assert [v for v, _ in status["datapoints"]][-1] == 2
                (table,) = query(http, "target_endpoint=list_endpoints;project=shop", start, end)
                names = [c["text"] for c in table["columns"]]
                (row,) = [dict(zip(names, r, strict=True)) for r in table["rows"]]
                assert row["endpoint_id"] == uid and row["drift_status"] == 2
                assert row["first_request"] == batch_time

            check_two_projects(gp, runtime)
    finally:
        ingest.stop()
        close_stores(stores)


def event(uid: str, request_id: str, timestamp: int, inputs: list[float]) -> dict[str, Any]:
    """One inference as the gateway records it."""
    return {
        "endpoint_id": uid,
        "request_id": request_id,
        "timestamp": timestamp,
        "inputs": inputs,
        "feature_names": list(FEATURES),
        "outputs": [1],
        "latency": 1000.0,
    }


def check_two_projects(gp: Client, runtime: Runtime) -> None:
    """alpha every minute with histogram-data-drift only; beta every 2 minutes with system-performance on
    one of its two endpoints: each project's windows, one by one."""
    stores = runtime.stores
    now = int(time.time() * 1000)
    base = now // (2 * MINUTE) * (2 * MINUTE) - 8 * MINUTE
    archive = runtime.ingest.archive_url

    def landed(project: str, uid: str, start: int, rows: int) -> None:
        """Wait until the ingest pipeline has archived the rows and recorded the first request."""
        wait_for(lambda: len(read_window(archive, project, uid, start, start + 2 * MINUTE * 5)) == rows, "archive")
        wait_for(lambda: (stores.endpoints.get(project, uid).last_request or 0) >= start, "the record")

    for project, uids in (("alpha", ("a1",)), ("beta", ("b1", "b2"))):
        gp.enable_monitoring(base_period_minutes=1 if project == "alpha" else 2, project=project)
        for name in GLOBAL_APPS:
            gp.remove_application(name, project=project)
        for uid in uids:
            gp.log_reference(training_frame(), endpoint=uid, project=project)
            rng = np.random.default_rng(3)
            # One every 10 s for 8 minutes.
            events = [event(uid, f"{uid}-{i}", base + i * 10_000, sample(rng, False)[0]) for i in range(48)]
            assert gp.send_events(events, project=project) == 48
    gp.set_application("drift", "histogram-data-drift", project="alpha")
    gp.set_application("perf", "system-performance", endpoints=["b1"], project="beta")
    for project, uid in (("alpha", "a1"), ("beta", "b1"), ("beta", "b2")):
        landed(project, uid, base, 48)
    build_controller(runtime).run_once(now=base + 8 * MINUTE)

    def windows(project: str, uid: str, application: str, name: str) -> list[tuple[int, int]]:
        found = gp.results(
            base - MINUTE, base + 11 * MINUTE, endpoint=uid, application=application, name=name, project=project
        )
        return [((r.start_infer_time - base) // MINUTE, (r.end_infer_time - base) // MINUTE) for r in found]

    assert windows("alpha", "a1", "drift", "general_drift") == [(m, m + 1) for m in range(8)]
    assert windows("beta", "b1", "perf", "error_rate") == [(m, m + 2) for m in range(0, 8, 2)]
    assert windows("beta", "b2", "perf", "error_rate") == []  # perf is set on b1 only
    assert {r.application for r in gp.results(base, base + 10 * MINUTE, project="alpha")} == {"drift"}
    assert {r.application for r in gp.results(base, base + 10 * MINUTE, project="beta")} == {"perf"}
    # Disabled: the next windows of beta are not analysed; alpha goes on.
    gp.disable_monitoring(project="beta")
    later = base + 8 * MINUTE
    for project, uid in (("beta", "b1"), ("alpha", "a1")):
        more = [event(uid, f"late-{i}", later + i * 10_000, [5.0, 3.0, 4.0, 1.0]) for i in range(12)]
        gp.send_events(more, project=project)
        landed(project, uid, later, 12)
    build_controller(runtime).run_once(now=base + 10 * MINUTE)
    assert len(windows("beta", "b1", "perf", "error_rate")) == 4
    assert windows("alpha", "a1", "drift", "general_drift") == [(m, m + 1) for m in range(10)]
