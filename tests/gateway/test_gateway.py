from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Response
from sqlalchemy import create_engine, text

from grafana_proxy.archive import read_window
from grafana_proxy.demo_model import create_demo_model_app
from grafana_proxy.gateway.proxy import GatewayOptions, create_gateway_app
from grafana_proxy.gateway.recorder import CallRecorder
from grafana_proxy.gateway.table import CallTable
from grafana_proxy.ingest.config import IngestConfig
from grafana_proxy.ingest.events import endpoint_uid
from grafana_proxy.ingest.pipeline import IngestPipeline
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from tests.servers import free_port, serve_in_thread


def _upstream() -> FastAPI:
    app = create_demo_model_app()

    @app.get("/slow")
    async def slow() -> dict[str, bool]:
        await asyncio.sleep(2)
        return {"late": True}

    @app.put("/echo/{tail:path}")
    async def echo(tail: str, q: str = "") -> Response:
        reply = Response(content=f"{tail}|{q}".encode(), status_code=201, media_type="text/plain")
        reply.headers.append("set-cookie", "a=1")
        reply.headers.append("set-cookie", "b=2")
        reply.headers["x-model"] = "demo"
        return reply

    return app


@dataclasses.dataclass
class Gateway:
    url: str
    upstream: str
    pipeline: IngestPipeline
    table_url: str


@pytest.fixture
def gateway(tmp_path: Path, sqlite_stores: Stores) -> Iterator[Gateway]:
    config = IngestConfig.from_settings(Settings(data_dir=tmp_path / "gw"))
    pipeline = IngestPipeline(config, sqlite_stores, name="gateway-test")
    table_url = f"sqlite:///{tmp_path / 'audit.db'}"
    table = CallTable(table_url, "classifier_monitor")
    recorder = CallRecorder(pipeline, "gw", "demo", None, queue_size=1000, table=table)
    with serve_in_thread(_upstream()) as upstream:
        options = GatewayOptions(service_url=upstream, connect_timeout=1.0, read_timeout=0.5)
        gw = Gateway("", upstream, pipeline, table_url)
        with serve_in_thread(create_gateway_app(options, recorder)) as url:
            gw.url = url
            yield gw
    # The gateway has stopped: its queue is flushed into the spool.
    pipeline.stop()
    table.close()


def test_calls_pass_through_unchanged_and_are_recorded(gateway: Gateway, sqlite_stores: Stores) -> None:
    rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
    direct = httpx.post(f"{gateway.upstream}/v2/models/classifier/infer", json={"inputs": rows}).json()
    proxied = httpx.post(
        f"{gateway.url}/v2/models/classifier/infer", json={"inputs": rows}, headers={"x-request-id": "call-1"}
    )
    assert proxied.status_code == 200
    assert proxied.json()["outputs"] == direct["outputs"] == [0, 1]
    v1 = httpx.post(f"{gateway.url}/v1/models/classifier:predict", json={"instances": rows})
    assert v1.json() == {"predictions": [0, 1]}
    tensors = {"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP64", "data": rows[0] + rows[1]}]}
    assert httpx.post(f"{gateway.url}/v2/models/classifier/infer", json=tensors).json()["outputs"] == [0, 1]
    seed = httpx.post(
        f"{gateway.url}/v2/models/classifier/infer", json={"inference_input": {"text": "famiglia wifi", "k": 1}}
    )
    assert seed.status_code == 400  # the demo model refuses it; the gateway forwards the answer as is
    echo = httpx.put(f"{gateway.url}/echo/a/b?q=1", content=b"raw body")
    assert (echo.status_code, echo.text, echo.headers["x-model"]) == (201, "a/b|1", "demo")
    assert echo.headers.get_list("set-cookie") == ["a=1", "b=2"]

    time.sleep(0.3)
    gateway.pipeline.drain()
    uid = endpoint_uid("gw", "gw/demo", "classifier")
    record = sqlite_stores.endpoints.get("gw", uid)
    assert record is not None and record.name == "classifier"
    assert record.error_count == 1  # the refused seed-shaped call
    frame = read_window(gateway.pipeline.config.archive_url, "gw", uid, 0, 2**42)
    first = frame[frame["request_id"] == "call-1"]
    assert first[["f0", "f3"]].values.tolist() == [[5.1, 0.2], [6.7, 2.3]]
    assert first["prediction"].tolist() == [0.0, 1.0]
    assert (first["latency"] > 0).all()
    assert len(frame) == 2 + 2 + 2 + 1
    seed_row = frame[frame["error"].notna()]
    assert seed_row[["text", "k"]].values.tolist() == [["famiglia wifi", 1.0]]
    # Calls without a model in the path are recorded under the "default" model, raw.
    other = sqlite_stores.endpoints.get("gw", endpoint_uid("gw", "gw/demo", "default"))
    assert other is not None

    engine = create_engine(gateway.table_url)
    with engine.connect() as conn:
        audit = conn.execute(
            text("SELECT request_id, method, path, status, latency, request, response FROM classifier_monitor")
        ).all()
    engine.dispose()
    assert len(audit) == 5
    call = next(r for r in audit if r.request_id == "call-1")
    assert (call.method, call.path, call.status) == ("POST", "/v2/models/classifier/infer", 200)
    assert '"inputs"' in call.request and '"outputs"' in call.response and call.latency > 0


def test_upstream_slow_is_504_and_down_is_502_both_recorded(
    gateway: Gateway, tmp_path: Path, sqlite_stores: Stores
) -> None:
    slow = httpx.get(f"{gateway.url}/slow", timeout=5)
    assert slow.status_code == 504
    assert slow.json()["error"] == "upstream timeout" and "did not answer" in slow.json()["message"]

    config = IngestConfig.from_settings(Settings(data_dir=tmp_path / "gw2"))
    pipeline = IngestPipeline(config, sqlite_stores, name="gateway-down")
    recorder = CallRecorder(pipeline, "gw", "demo", "m", queue_size=1)
    dead = f"http://127.0.0.1:{free_port()}"
    with serve_in_thread(create_gateway_app(GatewayOptions(service_url=dead), recorder)) as url:
        for i in range(3):  # queue of 1: some calls are spooled on the request path, none is lost
            down = httpx.post(
                f"{url}/v2/models/m/infer", json={"inputs": [[1, 2, 3, 4]]}, headers={"x-request-id": f"d{i}"}
            )
            assert down.status_code == 502 and "unreachable" in down.json()["message"]
    pipeline.drain()
    frame = read_window(config.archive_url, "gw", endpoint_uid("gw", "gw/demo", "m"), 0, 2**42)
    assert sorted(frame["request_id"]) == ["d0", "d1", "d2"]
    assert frame["error"].str.contains("unreachable").all()
    pipeline.stop()
