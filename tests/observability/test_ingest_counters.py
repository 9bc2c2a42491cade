"""``grafana_proxy_ingest_events_accepted_total`` on serve's /metrics counts every accepted event: those
of the events API and those a gateway records, also when the gateway is another process, and it keeps
growing across restarts."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx
import orjson
from fastapi.testclient import TestClient

from grafana_proxy.app import create_app
from grafana_proxy.ingest.config import IngestConfig
from grafana_proxy.ingest.pipeline import IngestPipeline
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from tests.gateway.test_gateway_cli import HOST, _command, _env
from tests.http_fixtures import T0, make_keys, seed_small
from tests.observability.test_metrics import samples, value
from tests.servers import free_port

ACCEPTED = "grafana_proxy_ingest_events_accepted_total"


def _accepted(client: TestClient, key: str) -> float | None:
    return value(samples(client.get("/metrics", headers={"Authorization": f"Bearer {key}"}).text), ACCEPTED)


def test_accepted_counts_the_events_api_and_a_gateway_in_another_process(tmp_path: Path, sqlite_stores: Stores) -> None:
    seed_small(sqlite_stores)
    keys = make_keys(sqlite_stores)
    data_dir = tmp_path / "data"
    env = _env(tmp_path)  # the gateway shares serve's data dir, so both spools sit under data/spool
    audit = tmp_path / "audit.db"
    model_port, gateway_port = free_port(), free_port()
    model = f"http://{HOST}:{model_port}"
    settings = Settings(data_dir=data_dir)
    with TestClient(create_app(Runtime.build(settings, sqlite_stores))) as client:
        events = [{"endpoint_id": "ep1", "timestamp": T0 + i, "request_id": f"c{i}", "inputs": [i]} for i in range(3)]
        reply = client.post(
            "/api/v1/projects/alpha/events", json=events, headers={"X-V3io-Session-Key": keys.all_write}
        )
        assert reply.status_code == 202, reply.text
        assert _accepted(client, keys.all_read) == 3

        gateway_args = ["gateway", "--service-url", model, "--project", "gw", "--port", str(gateway_port)]
        gateway_args += ["--table", "calls", "--db-url", f"sqlite:///{audit}"]
        with _command(["demo-model", "--port", str(model_port)], env, f"{model}/healthz"):
            with _command(gateway_args, env, f"http://{HOST}:{gateway_port}/healthz"):
                for i in range(5):
                    answer = httpx.post(
                        f"http://{HOST}:{gateway_port}/v2/models/classifier/infer", json={"inputs": [[i, 1, 2, 3]]}
                    )
                    assert answer.status_code == 200
                deadline = time.monotonic() + 20
                while (_accepted(client, keys.all_read) or 0) < 3 + 5:  # counted while the gateway runs
                    assert time.monotonic() < deadline, "the gateway's calls never reached serve's /metrics"
                    time.sleep(0.2)
        # The gateway has stopped (its count file is final): every call it recorded, probes included, is counted.
        with sqlite3.connect(audit) as db:
            (recorded,) = db.execute("SELECT count(*) FROM calls").fetchone()
        db.close()
        assert recorded >= 5
        assert _accepted(client, keys.all_read) == 3 + recorded


def test_accepted_keeps_growing_across_restarts(tmp_path: Path, sqlite_stores: Stores) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    events = [{"endpoint_id": "ep1", "timestamp": T0 + i, "request_id": f"r{i}", "inputs": [i]} for i in range(4)]
    for run in (1, 2):
        pipeline = IngestPipeline(IngestConfig.from_settings(settings), sqlite_stores)
        try:
            pipeline.submit_raw("alpha", orjson.dumps(events), len(events))
            assert pipeline.accepted_events == 4  # this run
            assert pipeline.accepted_total == 4 * run  # all runs
        finally:
            pipeline.stop()


def test_a_count_file_that_cannot_be_written_never_stops_the_pipeline(tmp_path: Path, sqlite_stores: Stores) -> None:
    """The count is a metric: when its file cannot be replaced (here a directory stands in its way), the
    events are still accepted and folded, and the pipeline stops cleanly."""
    settings = Settings(data_dir=tmp_path / "data")
    pipeline = IngestPipeline(IngestConfig.from_settings(settings), sqlite_stores)
    (pipeline.config.spool_dir / "serve" / "accepted.tmp").mkdir()
    try:
        events = [{"endpoint_id": "ep9", "timestamp": T0, "request_id": "x1", "inputs": [1]}]
        pipeline.submit_raw("alpha", orjson.dumps(events), 1)
        pipeline.drain()
        assert pipeline.accepted_total == 1
    finally:
        pipeline.stop()
    assert sqlite_stores.endpoints.get("alpha", "ep9") is not None
