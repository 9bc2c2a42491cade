"""simPod's JSON datasource and the Infinity-friendly /rows form, through real HTTP. simPod answers are
checked against the OpenAPI description of its protocol."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from fastapi.testclient import TestClient

from tests.http_fixtures import HOUR, PREFIX, T0, Keys, iso

SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "specs" / "simpod-json-datasource-openapi.yaml"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    assert SPEC_PATH.exists(), f"simPod's OpenAPI spec is expected at {SPEC_PATH} (../shared beside the repo)"
    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
    return loaded


def response_schema(spec: dict[str, Any], path: str) -> dict[str, Any]:
    operation = spec["paths"][path]["post"]
    schema: dict[str, Any] = operation["responses"]["200"]["content"]["application/json"]["schema"]
    return {**schema, "components": spec.get("components", {})}


def validate(spec: dict[str, Any], path: str, payload: Any) -> None:
    schema = response_schema(spec, path)
    jsonschema.validate(payload, schema)


def test_metrics_lists_query_targets_with_payload_fields(client: TestClient, keys: Keys, spec: dict[str, Any]) -> None:
    answer = client.post(PREFIX + "/metrics", json={}, headers=keys.header(keys.alpha_read)).json()
    validate(spec, "/metrics", answer)
    by_value = {item["value"]: item for item in answer}
    assert "list_endpoints" in by_value and "list_projects" not in by_value
    fields = {field["name"]: field for field in by_value["list_endpoints"]["payloads"]}
    assert fields["project"]["type"] == "select" and fields["project"]["reloadMetric"] is True
    assert fields["filter_router"]["options"] == [
        {"label": "false", "value": "false"},
        {"label": "true", "value": "true"},
    ]


def test_metric_payload_options_follow_the_chosen_project(client: TestClient, keys: Keys, spec: dict[str, Any]) -> None:
    header = keys.header(keys.alpha_read)
    projects = client.post(
        PREFIX + "/metric-payload-options", json={"metric": "metrics", "payload": {}, "name": "project"}, headers=header
    ).json()
    validate(spec, "/metric-payload-options", projects)
    assert projects == [{"label": "alpha", "value": "alpha"}]
    endpoints = client.post(
        PREFIX + "/metric-payload-options",
        json={"metric": "metrics", "payload": {"project": "alpha"}, "name": "endpoint_id"},
        headers=header,
    ).json()
    assert [item["value"] for item in endpoints] == ["ep1", "router1"]
    waiting = client.post(
        PREFIX + "/metric-payload-options",
        json={"metric": "metrics", "payload": {}, "name": "endpoint_id"},
        headers=header,
    ).json()
    assert waiting == []


def test_variable_answers_text_value_pairs(client: TestClient, keys: Keys) -> None:
    body = {
        "payload": {"target": "target_endpoint=list_endpoints;project=alpha"},
        "range": {"from": iso(T0 - 24 * HOUR), "to": iso(T0), "raw": {}},
    }
    answer = client.post(PREFIX + "/variable", json=body, headers=keys.header(keys.alpha_read)).json()
    # Endpoint options show the endpoint name; the value stays the uid the targets take.
    assert answer == [{"__text": "churn", "__value": "ep1"}, {"__text": "router", "__value": "router1"}]


def test_simpod_builder_query_with_payload_and_filters(client: TestClient, keys: Keys) -> None:
    body = {
        "range": {"from": iso(T0 - 24 * HOUR), "to": iso(T0)},
        "intervalMs": HOUR,
        "maxDataPoints": 500,
        "targets": [
            {
                "refId": "A",
                "datasource": {"type": "simpod-json-datasource", "uid": "u"},
                "editorMode": "builder",
                "target": "metrics",
                "payload": {"project": "alpha", "endpoint_id": ["ep1"], "metric": ["predictions_per_second"]},
            }
        ],
        "filters": [{"key": "endpoint_id", "operator": "=", "value": "ep1"}],
    }
    frames = client.post(PREFIX + "/query", json=body, headers=keys.header(keys.alpha_read)).json()
    assert [f["target"] for f in frames] == ["predictions_per_second"]
    assert all(point[0] == pytest.approx(2.0) for point in frames[0]["datapoints"])


def test_minimal_infinity_body_on_query_defaults_to_the_last_hour(client: TestClient, keys: Keys) -> None:
    body = {"targets": [{"target": "target_endpoint=list_endpoints;project=alpha"}]}
    frames = client.post(PREFIX + "/query", json=body, headers=keys.header(keys.alpha_read)).json()
    assert frames[0]["type"] == "table" and len(frames[0]["rows"]) == 2


def test_rows_get_flat_series_with_range_in_query_parameters(client: TestClient, keys: Keys) -> None:
    params = {
        "target": "target_endpoint=metrics;project=alpha;endpoint_id=ep1;metric=latency_avg_5m",
        "from": str(T0 - 2 * HOUR),
        "to": str(T0),
        "intervalMs": "600000",
    }
    rows = client.get(PREFIX + "/rows", params=params, headers=keys.header(keys.alpha_read)).json()
    assert len(rows) == 12
    assert set(rows[0]) >= {"time", "value", "series", "endpoint_id", "metric"}
    assert rows[0]["time"] == T0 - 2 * HOUR and isinstance(rows[0]["time"], int)


def test_rows_of_a_multi_series_target_ascend_by_time_with_labels(client: TestClient, keys: Keys) -> None:
    # Infinity's backend converts the long answer to one field per series only when it ascends by
    # time; series one after another would be drawn as one line and refused by alerting.
    body = {
        "target": "target_endpoint=metrics;project=alpha;endpoint_id=ep1;metric=latency_avg_5m,predictions_per_second",
        "from": T0 - 2 * HOUR,
        "to": T0,
        "intervalMs": 600_000,
    }
    rows = client.post(PREFIX + "/rows", json=body, headers=keys.header(keys.alpha_read)).json()
    times = [row["time"] for row in rows]
    assert len(rows) == 24 and times == sorted(times)
    assert {row["series"] for row in rows} == {"latency_avg_5m", "predictions_per_second"}
    pairs = [(row["time"], row["series"]) for row in rows]
    assert len(set(pairs)) == len(pairs)
    assert all(row["project"] == "alpha" and row["endpoint_name"] == "churn" for row in rows)
    # The same target on /query keeps SimpleJSON's shape: one element per series.
    query = {"targets": [{"target": body["target"], "refId": "A"}], "from": body["from"], "to": body["to"]}
    frames = client.post(PREFIX + "/query", json=query, headers=keys.header(keys.alpha_read)).json()
    assert [frame["target"] for frame in frames] == ["latency_avg_5m", "predictions_per_second"]


def test_rows_of_the_detections_target_are_annotation_regions(client: TestClient, keys: Keys) -> None:
    body = {"target": "target_endpoint=detections;project=alpha", "from": T0 - 24 * HOUR, "to": T0 + HOUR}
    rows = client.post(PREFIX + "/rows", json=body, headers=keys.header(keys.alpha_read)).json()
    assert rows, "seed_small has detections in alpha"
    for row in rows:
        assert set(row) == {"time", "timeEnd", "title", "text", "tags"}
        assert isinstance(row["time"], int) and row["timeEnd"] >= row["time"]
        assert row["tags"].split(",")[-1] == "ep1"


def test_rows_for_every_project_stay_within_the_keys_projects(client: TestClient, keys: Keys) -> None:
    # project=* (the alert rules' form) runs the target per readable project and labels each row.
    body = {"target": "target_endpoint=list_endpoints;project=*", "from": T0 - 24 * HOUR, "to": T0}
    everything = client.post(PREFIX + "/rows", json=body, headers=keys.header(keys.all_read)).json()
    assert {(row["project"], row["endpoint_id"]) for row in everything} == {
        ("alpha", "ep1"),
        ("alpha", "router1"),
        ("beta", "ep9"),
    }
    alpha_only = client.post(PREFIX + "/rows", json=body, headers=keys.header(keys.alpha_read)).json()
    assert {row["project"] for row in alpha_only} == {"alpha"}
    series = {**body, "target": "target_endpoint=metrics;project=*;metric=latency_avg_5m", "intervalMs": 3_600_000}
    rows = client.post(PREFIX + "/rows", json=series, headers=keys.header(keys.all_read)).json()
    assert rows and all(row["project"] == "alpha" and row["endpoint_name"] == "churn" for row in rows)


def test_rows_post_with_iso_range_in_body_and_table_rows(client: TestClient, keys: Keys) -> None:
    body = {"target": "target_endpoint=list_endpoints;project=alpha", "from": iso(T0 - 24 * HOUR), "to": iso(T0)}
    rows = client.post(PREFIX + "/rows", json=body, headers=keys.header(keys.alpha_read)).json()
    assert {row["endpoint_id"] for row in rows} == {"ep1", "router1"}
    assert rows[0]["first_request"] is None or isinstance(rows[0]["first_request"], int)


def test_rows_range_from_the_target_string(client: TestClient, keys: Keys) -> None:
    text = f"target_endpoint=metrics;project=alpha;endpoint_id=ep1;metric=latency_avg_5m;from={T0 - HOUR};to={T0}"
    rows = client.post(
        PREFIX + "/rows", json={"targets": [{"target": text}], "maxDataPoints": 6}, headers=keys.header(keys.alpha_read)
    ).json()
    assert len(rows) == 6 and rows[0]["time"] == T0 - HOUR


def test_rows_of_a_search_target_are_text_value_objects(client: TestClient, keys: Keys) -> None:
    rows = client.get(
        PREFIX + "/rows", params={"target": "target_endpoint=list_projects"}, headers=keys.header(keys.all_read)
    ).json()
    assert rows == [{"text": "alpha", "value": "alpha"}, {"text": "beta", "value": "beta"}]


def test_rows_without_target_is_400(client: TestClient, keys: Keys) -> None:
    response = client.get(PREFIX + "/rows", headers=keys.header(keys.alpha_read))
    assert response.status_code == 400 and "target" in response.json()["message"]


def test_query_series_and_tag_keys_match_the_simpod_spec(client: TestClient, keys: Keys, spec: dict[str, Any]) -> None:
    # The spec's table schema describes rows as scalars although its own example has arrays, so only
    # the time series case can be checked against it; table rows are checked in test_simplejson.py.
    body = {
        "range": {"from": iso(T0 - 24 * HOUR), "to": iso(T0)},
        "maxDataPoints": 50,
        "targets": [{"refId": "A", "target": "target_endpoint=metrics;project=alpha;metric=latency_avg_5m"}],
    }
    frames = client.post(PREFIX + "/query", json=body, headers=keys.header(keys.alpha_read)).json()
    assert frames and all(len(f["datapoints"]) <= 50 for f in frames)
    validate(spec, "/query", frames)
    tag_keys = client.post(PREFIX + "/tag-keys", json={}, headers=keys.header(keys.alpha_read)).json()
    validate(spec, "/tag-keys", tag_keys)
