"""The write API through real HTTP: records, metrics, feature samples, results, keys and limits."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from grafana_proxy import __version__
from grafana_proxy.deps import runtime_of
from grafana_proxy.model import SeriesKind, TimeRange
from grafana_proxy.stores.base import Stores
from tests.http_fixtures import HOUR, PREFIX, T0, Keys, iso

BASE = "/api/v1/projects/alpha/model-endpoints"


def test_put_creates_then_partially_updates_and_json_fields_stay_json(client: TestClient, keys: Keys) -> None:
    header = keys.header(keys.alpha_write)
    created = client.put(
        f"{BASE}/new1", json={"name": "m", "labels": {"team": "x"}, "feature_names": ["a"]}, headers=header
    )
    assert created.status_code == 200, created.text
    updated = client.put(
        f"{BASE}/new1",
        json={"model": "m:2", "drift_status": "DRIFT_DETECTED", "first_request": iso(T0)},
        headers=header,
    ).json()
    assert updated["name"] == "m" and updated["model"] == "m:2"
    assert updated["labels"] == {"team": "x"} and updated["feature_names"] == ["a"]
    assert updated["drift_status"] == 2 and updated["first_request"] == T0
    fetched = client.get(f"{BASE}/new1", headers=keys.header(keys.alpha_read)).json()
    assert fetched == updated
    listed = client.get(BASE, headers=keys.header(keys.alpha_read)).json()
    assert "new1" in [record["uid"] for record in listed]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"labels": "team=x"}, "labels"),
        ({"colour": "red"}, "colour"),
        ({"sampling_percentage": 250}, "sampling_percentage"),
        ({"first_request": "last tuesday"}, "first_request"),
        ({"monitoring_mode": "sometimes"}, "monitoring_mode"),
    ],
)
def test_put_validation_names_the_field(client: TestClient, keys: Keys, body: dict[str, object], field: str) -> None:
    response = client.put(f"{BASE}/x1", json=body, headers=keys.header(keys.alpha_write))
    assert response.status_code == 422
    assert field in response.json()["message"]


def test_metrics_features_and_results_are_committed_and_queryable(
    client: TestClient, keys: Keys, stores: Stores
) -> None:
    header = keys.header(keys.alpha_write)
    points = [{"name": "custom_score", "timestamp": T0 + i * 60_000, "value": i / 10} for i in range(10)]
    points.append({"name": "custom_score", "timestamp": iso(T0 + 10 * 60_000), "value": 9.9})
    answer = client.post(f"{BASE}/ep1/metrics", json={"points": points}, headers=header)
    assert answer.status_code == 200 and answer.json() == {"received": 11, "written": 11}
    again = client.post(f"{BASE}/ep1/metrics", json={"points": points}, headers=header).json()
    assert again["written"] == 0  # idempotent
    window = TimeRange(T0, T0 + HOUR)
    stored = stores.series.query("alpha", ["ep1"], SeriesKind.metric, ["custom_score"], window, 60_000)
    assert list(stored[0].values)[:3] == [0.0, 0.1, 0.2]

    samples = [{"timestamp": T0 + i * 1000, "values": {"f9": float(i), "f2": None}} for i in range(5)]
    assert client.post(f"{BASE}/ep1/features", json={"samples": samples}, headers=header).json()["written"] == 5
    assert "f9" in stores.series.names("alpha", "ep1", SeriesKind.feature)

    result = {
        "application": "my-app",
        "name": "score",
        "kind": 2,
        "status": 1,
        "value": 0.5,
        "start_infer_time": T0,
        "end_infer_time": T0 + 600_000,
        "extra_data": {"n": 3},
    }
    assert client.post(f"{BASE}/ep1/results", json={"results": [result]}, headers=header).json()["written"] == 1
    names = client.post(
        PREFIX + "/search",
        json={"target": "target_endpoint=list_metrics;project=alpha;endpoint_id=ep1"},
        headers=keys.header(keys.alpha_read),
    ).json()
    assert "score" in names and "custom_score" in names


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("metrics", {"points": [{"name": "a", "timestamp": T0, "value": "high"}]}, "points[0].value"),
        ("metrics", {"points": [{"name": "", "timestamp": T0, "value": 1}]}, "points[0].name"),
        ("metrics", {"points": [{"name": "a", "timestamp": "soon", "value": 1}]}, "points[0].timestamp"),
        ("metrics", {"pts": []}, "points"),
        ("features", {"samples": [{"timestamp": T0, "values": {"a": "x"}}]}, "samples[0].values.a"),
        (
            "results",
            {
                "results": [
                    {
                        "application": "a",
                        "name": "n",
                        "kind": 9,
                        "status": 0,
                        "value": 1,
                        "start_infer_time": T0,
                        "end_infer_time": T0,
                    }
                ]
            },
            "results[0].kind",
        ),
        (
            "results",
            {
                "results": [
                    {
                        "application": "a",
                        "name": "n",
                        "kind": 0,
                        "status": 0,
                        "value": 1,
                        "start_infer_time": T0 + 1,
                        "end_infer_time": T0,
                    }
                ]
            },
            "end_infer_time",
        ),
    ],
)
def test_bad_writes_are_rejected_naming_the_field_and_store_nothing(
    client: TestClient, keys: Keys, stores: Stores, path: str, body: dict[str, object], field: str
) -> None:
    response = client.post(f"{BASE}/ep1/{path}", json=body, headers=keys.header(keys.alpha_write))
    assert response.status_code in (400, 422)
    assert field in response.json()["message"]
    assert "a" not in stores.series.names("alpha", "ep1", SeriesKind.metric)


def test_nan_is_rejected(client: TestClient, keys: Keys) -> None:
    raw = b'{"points": [{"name": "a", "timestamp": 1767225600000, "value": NaN}]}'
    response = client.post(
        f"{BASE}/ep1/metrics",
        content=raw,
        headers={**keys.header(keys.alpha_write), "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422)


def test_writes_to_unknown_endpoints_are_404(client: TestClient, keys: Keys) -> None:
    response = client.post(f"{BASE}/ghost/metrics", json={"points": []}, headers=keys.header(keys.alpha_write))
    assert response.status_code == 404 and "PUT" in response.json()["message"]


def test_delete_removes_record_and_series(client: TestClient, keys: Keys, stores: Stores) -> None:
    assert client.delete(f"{BASE}/ep1", headers=keys.header(keys.alpha_write)).status_code == 200
    assert client.get(f"{BASE}/ep1", headers=keys.header(keys.alpha_read)).status_code == 404
    assert stores.series.names("alpha", "ep1", SeriesKind.metric) == []
    assert client.delete(f"{BASE}/ep1", headers=keys.header(keys.alpha_write)).status_code == 404


@pytest.mark.parametrize("key_name", ["alpha_read", "all_read"])
def test_read_keys_cannot_write(client: TestClient, keys: Keys, key_name: str) -> None:
    response = client.put(f"{BASE}/x", json={}, headers=keys.header(getattr(keys, key_name)))
    assert response.status_code == 403 and "--write" in response.json()["message"]


def test_other_projects_write_key_is_403(client: TestClient, keys: Keys) -> None:
    response = client.put("/api/v1/projects/beta/model-endpoints/x", json={}, headers=keys.header(keys.alpha_write))
    assert response.status_code == 403


def test_revoked_key_stops_working(client: TestClient, keys: Keys, stores: Stores) -> None:
    key, secret = stores.keys.create("temp", ["alpha"], "read")
    assert client.get(f"{BASE}/ep1", headers=keys.header(secret)).status_code == 200
    stores.keys.revoke(key.key_id)
    runtime_of(client.app).key_verifier.forget()  # type: ignore[arg-type]
    assert client.get(f"{BASE}/ep1", headers=keys.header(secret)).status_code == 401


def test_oversized_body_is_413(client: TestClient, keys: Keys) -> None:
    points = [{"name": "a", "timestamp": T0 + i, "value": 1.0} for i in range(10_000)]
    response = client.post(f"{BASE}/ep1/metrics", json={"points": points}, headers=keys.header(keys.alpha_write))
    assert response.status_code == 413 and "MAX_BODY_BYTES" in response.json()["message"]


def test_unknown_route_and_method_are_json(client: TestClient, keys: Keys) -> None:
    missing = client.get("/api/nothing", headers=keys.header(keys.alpha_read))
    assert missing.status_code == 404 and set(missing.json()) == {"message", "error"}
    wrong = client.delete(PREFIX + "/query", headers=keys.header(keys.alpha_read))
    assert wrong.status_code == 405 and set(wrong.json()) == {"message", "error"}


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "version": __version__}
    assert client.get("/readyz").json() == {"status": "ready"}
