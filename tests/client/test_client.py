"""The Python client against a real server (uvicorn on a loopback port, SQLite): every group of calls,
sync and async, and server errors as exceptions carrying the server's message."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from grafana_proxy.app import create_app
from grafana_proxy.archive.reference import REFERENCE_SAMPLE_ROWS, read_reference
from grafana_proxy.cli.main import app as cli_app
from grafana_proxy.client import AccessDenied, AsyncClient, BadRequest, Client, NotFound, UploadTimeout
from grafana_proxy.ingest.events import endpoint_uid
from grafana_proxy.model import AppResult
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.engine import close_stores, open_stores
from tests.http_fixtures import uploads_here
from tests.servers import serve_in_thread

MINUTE = 60_000


@dataclass
class Server:
    url: str
    write: str
    read: str
    data_dir: Path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    settings = Settings(data_dir=tmp_path / "data")
    stores = open_stores(settings)
    write = stores.keys.create("w", ["p"], "write")[1]
    read = stores.keys.create("r", ["p"], "read")[1]
    try:
        with serve_in_thread(create_app(Runtime.build(settings, stores))) as url, uploads_here(settings, stores):
            yield Server(url, write, read, tmp_path / "data")
    finally:
        close_stores(stores)


def training(rows: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    return pd.DataFrame(
        {"x": rng.normal(0, 1, rows), "kind": rng.choice(["a", "b"], rows), "label": rng.integers(0, 2, rows)}
    )


def test_sync_client_round_trips(server: Server, tmp_path: Path) -> None:
    now = int(time.time() * 1000) // MINUTE * MINUTE
    with Client(server.url, key=server.write, project="p") as gp:
        record = gp.put_endpoint("ep", name="churn", model="churn:1")
        assert record.name == "churn" and [e.uid for e in gp.endpoints()] == ["ep"]
        assert gp.log_metrics("ep", [("latency_p99", now, 12.5), ("latency_p99", now + MINUTE, 13.0)]) == 2
        assert gp.log_features("ep", [(now, {"x": 1.0, "y": None})]) == 1
        result = AppResult("ep", "custom", "score", 2, 1, 0.4, now, now + MINUTE, {"why": "test"})
        assert gp.log_results("ep", [result]) == 1
        assert gp.results(now - MINUTE, now + 2 * MINUTE, endpoint="ep") == [result]
        events = [{"endpoint_id": "ep", "request_id": "r1", "timestamp": now, "inputs": [[1.0]], "outputs": [1]}]
        assert gp.send_events(events) == 1
        assert gp.log_ground_truth({"r1": 1}, endpoint="ep") == 1
        rows = gp.rows(
            "target_endpoint=metrics;project=p;endpoint_id=ep;metric=latency_p99", now - MINUTE, now + 2 * MINUTE
        )
        assert [r["value"] for r in rows] == [12.5, 13.0]
        span = (now - MINUTE, now + 2 * MINUTE)
        (points,) = gp.metrics("ep", ["latency_p99"], *span, agg="max").values()  # in buckets of the panels' step
        # Bucket starts follow the step that keeps the answer within maxDataPoints: within a minute of each point.
        assert [v for _, v in points] == [12.5, 13.0]
        assert now - MINUTE < points[0][0] <= now < points[1][0] <= now + MINUTE
        assert gp.features("ep", None, *span) == {"x": [(now, 1.0)]}
        # The reference is what `grafana-proxy reference set` computes from the same data.
        df = training()
        logged = gp.log_reference(df, endpoint="ref-client", label="label")
        assert logged.feature_names == ["x", "kind"] and logged.label_names == ["label"]
        # The rows are kept on the server too (features only), for applications that compare rows.
        kept = read_reference(str(server.data_dir / "archive"), "p", "ref-client")
        assert kept is not None
        pd.testing.assert_frame_equal(kept, df[["x", "kind"]].reset_index(drop=True))
        df.to_csv(tmp_path / "train.csv", index=False)
        env = {"GRAFANA_PROXY_DATA_DIR": str(server.data_dir), "GRAFANA_PROXY_DB_URL": None}
        args = [
            "reference",
            "set",
            "--project",
            "p",
            "--endpoint",
            "ref-cli",
            "--from-file",
            str(tmp_path / "train.csv"),
            "--exclude",
            "label",
            "--create",
        ]
        assert CliRunner().invoke(cli_app, args, env=env).exit_code == 0
        assert gp.endpoint("ref-cli").feature_stats == logged.feature_stats
        gp.delete_endpoint("ref-cli")
        with pytest.raises(NotFound, match="'ref-cli' not found in project 'p'"):
            gp.endpoint("ref-cli")
        with pytest.raises(ValueError, match="no project"):
            Client(server.url).endpoints()


def test_server_errors_carry_the_server_message(server: Server) -> None:
    with Client(server.url, key=server.read, project="p") as reader:
        with pytest.raises(AccessDenied) as denied:
            reader.enable_monitoring(5)
        assert denied.value.status == 403 and "write" in denied.value.message
        with pytest.raises(AccessDenied, match="may not use project 'q'"):
            reader.monitoring(project="q")
    with Client(server.url, key=server.write, project="p") as gp:
        with pytest.raises(BadRequest) as bad:
            gp.enable_monitoring(0.5)
        assert bad.value.status == 422 and "base_period_minutes" in bad.value.message
        with pytest.raises(BadRequest, match="cannot import 'nowhere'"):
            gp.set_application("x", "nowhere:App")
        with pytest.raises(NotFound):
            gp.remove_application("never-set")
        with pytest.raises(ValueError, match="endpoint= .* or job="):
            gp.submit_batch(training(), endpoint="ep", job="nightly")


def test_async_client_monitoring_applications_and_batches(server: Server) -> None:
    sent: list[tuple[int, int]] = []

    async def flow() -> None:
        async with AsyncClient(server.url, key=server.write, project="p") as gp:
            settings = await gp.enable_monitoring(base_period_minutes=5)
            assert (settings.enabled, settings.base_period_minutes, settings.configured) == (True, 5, True)
            app = await gp.set_application(
                "strict", "histogram-data-drift", params={"drift_share": 0.2}, endpoints=["ep"]
            )
            assert app.endpoints == ["ep"] and app.params == {"drift_share": 0.2}
            assert "strict" in [a.name for a in await gp.applications()]
            assert (await gp.application("strict")).application == "histogram-data-drift"
            await gp.remove_application("strict")
            assert (await gp.disable_monitoring()).enabled is False
            df = training(2000).rename(columns={"label": "prediction"})
            report = await gp.submit_batch(df, job="nightly", progress=lambda done, total: sent.append((done, total)))
            assert report.rows == 2000 and report.features == ["x", "kind"]
            (info,) = await gp.batches(report.endpoint_id)
            assert info.batch_id == report.batch_id and info.analysed_at is None
            assert (await gp.batch(report.batch_id)).rows == 2000
            with pytest.raises(BadRequest, match="prediction column"):
                await gp.submit_batch(training(10), endpoint=report.endpoint_id)

    asyncio.run(flow())
    assert sent and sent[-1][0] == sent[-1][1]  # the progress reached the file's size


def test_training_rows_over_http_are_sampled_checked_and_kept_per_project(server: Server, tmp_path: Path) -> None:
    """``PUT .../reference-rows``: a write key of the endpoint's project, an endpoint that exists, a Parquet
    body; a training set above the sample size is kept as the same sample ``reference set`` keeps."""
    big = training(REFERENCE_SAMPLE_ROWS + 500).drop(columns=["label"])
    big.to_parquet(tmp_path / "big.parquet", index=False)
    body = (tmp_path / "big.parquet").read_bytes()
    url = f"{server.url}/api/v1/projects/p/model-endpoints/ep/reference-rows"
    with Client(server.url, key=server.write, project="p") as gp:
        gp.put_endpoint("ep", name="churn")
    with httpx.Client() as http:
        write, read = {"X-V3io-Session-Key": server.write}, {"X-V3io-Session-Key": server.read}
        assert http.put(url, content=body, headers=read).status_code == 403
        assert http.put(url.replace("/p/", "/q/"), content=body, headers=write).status_code == 403
        missing = http.put(url.replace("/ep/", "/nope/"), content=body, headers=write)
        assert missing.status_code == 404 and "'nope' not found" in missing.json()["message"]
        bad = http.put(url, content=b"not parquet", headers=write)
        assert bad.status_code == 400 and "not a Parquet file" in bad.json()["message"]
        accepted = http.put(url, content=body, headers=write)
        assert accepted.status_code == 202, accepted.text
        status = http.get(server.url + accepted.json()["status_url"], params={"wait": 30}, headers=read).json()
        assert status["status"] == "done" and status["result"]["rows_kept"] == REFERENCE_SAMPLE_ROWS, status
        # Parquet's magic bytes around something else: only reading finds it, and the status says so.
        broken = http.put(url, content=b"PAR1" + b"\0" * 64 + b"PAR1", headers=write)
        assert broken.status_code == 202, broken.text
        status = http.get(server.url + broken.json()["status_url"], params={"wait": 30}, headers=read).json()
        assert status["status"] == "failed" and status["message"].startswith("the body is not a Parquet file"), status
    kept = read_reference(str(server.data_dir / "archive"), "p", "ep")
    assert kept is not None and len(kept) == REFERENCE_SAMPLE_ROWS
    expected = big.sample(n=REFERENCE_SAMPLE_ROWS, random_state=0).sort_index().reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, expected)


def test_a_batch_no_ingest_process_reads_times_out_in_the_client_and_stays_queued(tmp_path: Path) -> None:
    """Without an ingest process the api still accepts the batch; the client stops waiting after
    ``wait_timeout`` with one line saying so, and the batch is stored once an ingest process reads it."""
    settings = Settings(data_dir=tmp_path / "data", auth="none")
    stores = open_stores(settings)
    try:
        with serve_in_thread(create_app(Runtime.build(settings, stores))) as url, Client(url, project="p") as gp:
            began = time.monotonic()
            with pytest.raises(UploadTimeout, match=r"still pending after 1 s \(is an ingest process running\?\)"):
                gp.submit_batch(training(20).rename(columns={"label": "prediction"}), job="late", wait_timeout=1)
            assert time.monotonic() - began < 10
            assert gp.batches(endpoint_uid("p", "late", "late")) == []
            with uploads_here(settings, stores):
                report = gp.submit_batch(training(30).rename(columns={"label": "prediction"}), job="late")
            assert report.rows == 30
            assert sorted(b.rows for b in gp.batches(report.endpoint_id)) == [20, 30]  # the late one too
    finally:
        close_stores(stores)
