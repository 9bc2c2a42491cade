from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from grafana_proxy.app import create_app
from grafana_proxy.archive import read_window
from grafana_proxy.ingest.config import IngestConfig
from grafana_proxy.ingest.pipeline import IngestPipeline
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from tests.http_fixtures import Keys, make_keys

NOW = int(time.time() * 1000)


@pytest.fixture
def keys(sqlite_stores: Stores) -> Keys:
    return make_keys(sqlite_stores)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def client(settings: Settings, sqlite_stores: Stores) -> Iterator[TestClient]:
    # create_app mounts the events API; its lifespan opens this process's inbox (no fold in the api role).
    app = create_app(Runtime.build(settings, sqlite_stores))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def ingest(settings: Settings, sqlite_stores: Stores) -> Iterator[IngestPipeline]:
    """The ingest role's pipeline on the same spool directory: it folds what the api accepted."""
    pipeline = IngestPipeline(IngestConfig.from_settings(settings), sqlite_stores)
    try:
        yield pipeline
    finally:
        pipeline.stop()


def _event(i: int, **extra: object) -> dict[str, object]:
    return {"endpoint_id": "ep1", "timestamp": NOW - 1000 + i, "request_id": f"r{i}", "inputs": [i, i], **extra}


def test_accepted_batch_is_durable_and_lands_in_the_stores(
    client: TestClient, keys: Keys, sqlite_stores: Stores, ingest: IngestPipeline
) -> None:
    reply = client.post(
        "/api/v1/projects/alpha/events", json=[_event(i) for i in range(10)], headers=keys.header(keys.all_write)
    )
    assert reply.status_code == 202, reply.text
    assert reply.json() == {"accepted": 10, "durable": True}
    assert sqlite_stores.endpoints.get("alpha", "ep1") is None  # the api role folds nothing itself
    ingest.drain()
    assert len(read_window(ingest.config.archive_url, "alpha", "ep1", NOW - 10_000, NOW + 10_000)) == 10
    record = sqlite_stores.endpoints.get("alpha", "ep1")
    assert record is not None and record.last_request == NOW - 1000 + 9


def test_one_bad_event_refuses_the_whole_batch(
    client: TestClient, keys: Keys, sqlite_stores: Stores, ingest: IngestPipeline
) -> None:
    batch = {"events": [_event(0), _event(1, latency="slow"), _event(2, timestamp="never")]}
    reply = client.post("/api/v1/projects/alpha/events", json=batch, headers=keys.header(keys.all_write))
    assert reply.status_code == 400
    body = reply.json()
    assert (body["index"], body["field"], body["error"]) == (1, "latency", "invalid event")
    assert body["message"].startswith("event 1: field 'latency'")
    ingest.drain()
    assert sqlite_stores.endpoints.get("alpha", "ep1") is None


def test_not_json_is_a_400(client: TestClient, keys: Keys) -> None:
    reply = client.post("/api/v1/projects/alpha/events", content=b"{nope", headers=keys.header(keys.all_write))
    assert reply.status_code == 400 and "not valid JSON" in reply.json()["message"]


def test_writing_needs_a_write_key_for_the_project(client: TestClient, keys: Keys) -> None:
    url = "/api/v1/projects/alpha/events"
    assert client.post(url, json=[_event(0)]).status_code == 401
    assert client.post(url, json=[_event(0)], headers=keys.header(keys.all_read)).status_code == 403
    assert (
        client.post("/api/v1/projects/beta/events", json=[_event(0)], headers=keys.header(keys.alpha_write)).status_code
        == 403
    )
    assert client.post(url, json=[_event(0)], headers=keys.header(keys.alpha_write)).status_code == 202
