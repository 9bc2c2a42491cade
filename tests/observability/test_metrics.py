"""``GET /metrics``: Prometheus text format on the app's own registry, request and target metrics by
route template, the ingest and controller hooks, and per-endpoint model metrics from the stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from grafana_proxy.app import create_app
from grafana_proxy.auth import Access
from grafana_proxy.deps import runtime_of
from grafana_proxy.model import SeriesKind
from grafana_proxy.observability import IngestSnapshot
from grafana_proxy.observability.models import ModelMetrics
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Point, Stores
from tests.http_fixtures import PREFIX, T0, Keys, make_keys, seed_small


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, parsed by prometheus_client's own parser (so the format is valid)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def seeded(sqlite_stores: Stores) -> Keys:
    seed_small(sqlite_stores)
    sqlite_stores.series.write("alpha", "ep1", SeriesKind.metric, [Point("tvd_mean", T0 - 60_000, 0.42)])
    return make_keys(sqlite_stores)


@pytest.fixture
def client(sqlite_stores: Stores, seeded: Keys, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(
        create_app(Runtime.build(Settings(data_dir=tmp_path, max_body_bytes=1000), sqlite_stores)),
        raise_server_exceptions=False,
    ) as test_client:
        yield test_client


def test_requests_and_targets_by_route_template(client: TestClient, seeded: Keys) -> None:
    key = {"X-V3io-Session-Key": seeded.all_write}
    for _ in range(3):
        client.post(
            PREFIX + "/query",
            headers=key,
            json={"targets": [{"target": "target_endpoint=list_endpoints;project=alpha"}]},
        )
    client.post(PREFIX + "/query", headers=key, json={"targets": [{"target": "target_endpoint=list_endpoints"}]})
    client.get("/api/v1/projects/alpha/model-endpoints/ep1", headers=key)
    client.get("/api/v1/projects/alpha/model-endpoints/router1", headers=key)
    client.post(PREFIX + "/query", headers=key, content=b"x" * 2000)  # 413 before routing
    client.get("/scan/for/../../etc/passwd")
    found = samples(client.get("/metrics", headers=key).text)
    query = "/api/grafana-proxy/model-endpoints/query"
    record = "/api/v1/projects/{project}/model-endpoints/{uid}"
    assert value(found, "grafana_proxy_http_requests_total", method="POST", route=query, status="200") == 3
    assert value(found, "grafana_proxy_http_requests_total", method="POST", route=query, status="400") == 1
    assert value(found, "grafana_proxy_http_requests_total", method="POST", route=query, status="413") == 1
    assert value(found, "grafana_proxy_http_requests_total", method="GET", route=record, status="200") == 2
    assert value(found, "grafana_proxy_http_requests_total", method="GET", route="<unmatched>", status="404") == 1
    assert (
        value(found, "grafana_proxy_http_request_duration_seconds_count", method="GET", route=record, status="200") == 2
    )
    assert not any("ep1" in dict(labels).get("route", "") for _, labels in found)  # templates, never raw paths
    assert (
        value(
            found, "grafana_proxy_target_requests_total", kind="query", target_endpoint="list_endpoints", outcome="ok"
        )
        == 3
    )
    assert (
        value(
            found,
            "grafana_proxy_target_requests_total",
            kind="query",
            target_endpoint="list_endpoints",
            outcome="rejected",
        )
        == 1
    )
    assert (
        value(found, "grafana_proxy_target_duration_seconds_count", kind="query", target_endpoint="list_endpoints") == 4
    )


def test_model_metrics_per_endpoint_from_the_stores(client: TestClient, seeded: Keys) -> None:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {seeded.all_read}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    found = samples(response.text)
    ep1 = {"project": "alpha", "endpoint_id": "ep1", "endpoint_name": "churn"}
    assert value(found, "model_endpoint_predictions_per_second", **ep1) == 2.5
    assert value(found, "model_endpoint_latency_avg_1h_seconds", **ep1) == pytest.approx(0.0012)
    assert value(found, "model_endpoint_errors_total", **ep1) == 3
    assert value(found, "model_endpoint_drift_status", **ep1) == 2
    assert value(found, "model_endpoint_drift_measure", **ep1, measure="tvd_mean") == pytest.approx(0.42)
    assert value(found, "model_endpoint_last_request_timestamp_seconds", **ep1) == T0 / 1000
    assert (
        value(found, "model_endpoint_drift_status", project="beta", endpoint_id="ep9", endpoint_name="secret-model")
        == -1
    )


def test_ingest_and_controller_hooks(client: TestClient, seeded: Keys) -> None:
    metrics = runtime_of(client.app).metrics  # type: ignore[arg-type]
    metrics.set_controller_source(None)  # this process's own controller metrics, not the controller role's file
    metrics.set_ingest_provider(lambda: IngestSnapshot(accepted_events_total=1234, backlog_records=7, backlog_bytes=99))
    with metrics.controller_run() as failed:
        failed.append("histogram-data-drift")
    with pytest.raises(RuntimeError), metrics.controller_run():
        raise RuntimeError("the controller crashed")
    metrics.observe_controller_run(1.5)
    found = samples(client.get("/metrics", headers={"X-V3io-Access-Key": seeded.alpha_read}).text)
    assert value(found, "grafana_proxy_ingest_events_accepted_total") == 1234
    assert value(found, "grafana_proxy_ingest_backlog_records") == 7
    assert value(found, "grafana_proxy_ingest_backlog_bytes") == 99
    assert value(found, "grafana_proxy_controller_runs_total", outcome="failed") == 2
    assert value(found, "grafana_proxy_controller_runs_total", outcome="ok") == 1
    assert value(found, "grafana_proxy_controller_application_failures_total", application="controller") == 1
    assert value(found, "grafana_proxy_controller_run_duration_seconds_count") == 3
    assert not any(dict(labels).get("project") == "beta" for _, labels in found)  # an alpha-only key
    # A provider that fails drops its own samples, never the scrape.
    metrics.set_ingest_provider(lambda: 1 / 0)  # type: ignore[arg-type, return-value]
    response = client.get("/metrics", headers={"X-V3io-Access-Key": seeded.alpha_read})
    assert response.status_code == 200 and "grafana_proxy_ingest_backlog_records" not in response.text


def test_two_apps_in_one_process_keep_separate_registries(sqlite_stores: Stores, seeded: Keys, tmp_path: Path) -> None:
    key = {"X-V3io-Session-Key": seeded.all_read}
    first = TestClient(create_app(Runtime.build(Settings(data_dir=tmp_path / "one"), sqlite_stores)))
    second = TestClient(create_app(Runtime.build(Settings(data_dir=tmp_path / "two"), sqlite_stores)))
    with first, second:
        for _ in range(5):
            first.get(PREFIX, headers=key)
        one = samples(first.get("/metrics", headers=key).text)
        two = samples(second.get("/metrics", headers=key).text)
    labels = {"method": "GET", "route": PREFIX, "status": "200"}
    assert value(one, "grafana_proxy_http_requests_total", **labels) == 5
    assert value(two, "grafana_proxy_http_requests_total", **labels) is None


def test_metrics_need_a_key_unless_public(sqlite_stores: Stores, seeded: Keys, tmp_path: Path) -> None:
    with TestClient(create_app(Runtime.build(Settings(data_dir=tmp_path), sqlite_stores))) as private:
        assert private.get("/metrics").status_code == 401
        assert private.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    with TestClient(
        create_app(Runtime.build(Settings(data_dir=tmp_path, metrics_public=True), sqlite_stores))
    ) as public:
        response = public.get("/metrics")
        assert response.status_code == 200 and 'project="beta"' in response.text


def test_store_reads_are_cached_for_the_ttl(sqlite_stores: Stores, seeded: Keys) -> None:
    now = [0.0]
    models = ModelMetrics(sqlite_stores, ttl=10.0, clock=lambda: now[0])
    everyone = Access(projects=None)

    def endpoints() -> set[str]:
        return {
            s.labels["endpoint_id"]
            for f in models.families(everyone)
            for s in f.samples
            if f.name == "model_endpoint_drift_status"
        }

    assert endpoints() == {"ep1", "router1", "ep9"}
    sqlite_stores.endpoints.upsert("alpha", "new", {"name": "fresh"})
    now[0] = 9.0
    assert "new" not in endpoints()  # within the TTL: the earlier read
    now[0] = 10.5
    assert "new" in endpoints()
