"""The SimpleJSON protocol through real HTTP: the bodies Grafana's SimpleJSON plugin posts."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from grafana_proxy.protocol.encode import _matches
from grafana_proxy.targets.base import TargetError
from tests.http_fixtures import HOUR, PREFIX, T0, Keys, iso


def grafana_body(targets: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """What SimpleJSON's buildQueryParameters leaves of Grafana's DataQueryRequest, plus its extras."""
    body: dict[str, Any] = {
        "app": "dashboard",
        "requestId": "Q100",
        "timezone": "browser",
        "panelId": 2,
        "dashboardUID": "g0M4uh0Mz",
        "range": {"from": iso(T0 - 24 * HOUR), "to": iso(T0), "raw": {"from": "now-24h", "to": "now"}},
        "rangeRaw": {"from": "now-24h", "to": "now"},
        "interval": "1m",
        "intervalMs": 60000,
        "maxDataPoints": 1000,
        "targets": targets,
        "format": "json",
        "adhocFilters": [],
        "scopedVars": {"__interval": {"text": "1m", "value": "1m"}},
        "startTime": T0,
    }
    body.update(extra)
    return body


def target(text: str, ref_id: str = "A", kind: str = "timeserie", hide: bool = False) -> dict[str, Any]:
    return {"target": text, "refId": ref_id, "hide": hide, "type": kind}


@pytest.mark.parametrize(
    "path", [PREFIX, PREFIX + "/", "/api/v1/grafana-proxy/model-endpoints", "/api/v1/grafana-proxy/model-endpoints/"]
)
def test_save_and_test_is_200_with_a_key_on_both_prefixes_with_and_without_slash(
    client: TestClient, keys: Keys, path: str
) -> None:
    response = client.get(path, headers=keys.header(keys.alpha_read))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"X-V3io-Access-Key": "KEY"},
        {"Authorization": "Bearer KEY"},
        {"X-V3io-Session-Key": "KEY", "X-V3io-Access-Key": "wrong"},
    ],
)
def test_the_key_is_read_from_each_accepted_header(client: TestClient, keys: Keys, headers: dict[str, str]) -> None:
    real = {name: value.replace("KEY", keys.alpha_read) for name, value in headers.items()}
    assert client.get(PREFIX, headers=real).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-V3io-Session-Key": "gp_00000000_nope"}, {"Authorization": "Basic abc"}, {"X-V3io-Session-Key": "garbage"}],
)
def test_missing_or_unknown_key_is_401_with_json_body(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post(PREFIX + "/search", json={"target": "target_endpoint=list_projects"}, headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"message", "error"} and "key" in body["message"]


def test_list_projects_shows_only_what_the_key_may_see(client: TestClient, keys: Keys) -> None:
    body = {"target": "target_endpoint=list_projects"}
    limited = client.post(PREFIX + "/search", json=body, headers=keys.header(keys.alpha_read))
    everything = client.post(PREFIX + "/search", json=body, headers=keys.header(keys.all_read))
    assert limited.json() == ["alpha"]
    assert everything.json() == ["alpha", "beta"]


def test_project_outside_the_key_is_403(client: TestClient, keys: Keys) -> None:
    body = grafana_body([target("project=beta;target_endpoint=list_endpoints", kind="table")])
    response = client.post(PREFIX + "/query", json=body, headers=keys.header(keys.alpha_read))
    assert response.status_code == 403
    assert "beta" in response.json()["message"]


def test_every_target_is_answered_in_order_hidden_skipped_refid_echoed(client: TestClient, keys: Keys) -> None:
    body = grafana_body(
        [
            target("project=alpha;target_endpoint=list_endpoints", "A", "table"),
            target("project=alpha;target_endpoint=metrics;endpoint_id=ep1;metric=latency_avg_5m", "B"),
            target("project=alpha;target_endpoint=list_endpoints", "C", "table", hide=True),
            target("target_endpoint=overall_feature_analysis;project=alpha;endpoint_id=ep1", "D", "table"),
        ]
    )
    response = client.post(PREFIX + "/query", json=body, headers=keys.header(keys.alpha_read))
    assert response.status_code == 200, response.text
    frames = response.json()
    assert [frame["refId"] for frame in frames] == ["A", "B", "D"]
    table, series, overall = frames
    assert table["type"] == "table"
    assert all(len(row) == len(table["columns"]) for row in table["rows"])
    assert series["target"] == "latency_avg_5m"
    times = [point[1] for point in series["datapoints"]]
    assert times == sorted(times) and len(times) > 0
    assert overall["rows"] == [[0.2, 0.2, 0.3, 0.3, 0.4, 0.4]]


def test_series_honour_max_data_points_and_interval(client: TestClient, keys: Keys) -> None:
    text = "project=alpha;target_endpoint=metrics;endpoint_id=ep1;metric=latency_avg_5m"
    few = client.post(
        PREFIX + "/query", json=grafana_body([target(text)], maxDataPoints=100), headers=keys.header(keys.alpha_read)
    ).json()[0]["datapoints"]
    assert 0 < len(few) <= 100
    hourly = client.post(
        PREFIX + "/query", json=grafana_body([target(text)], intervalMs=HOUR), headers=keys.header(keys.alpha_read)
    ).json()[0]["datapoints"]
    assert len(hourly) == 24
    # Each hourly bucket averages 60 one-minute values 1000+m: the first is 1000 + 29.5.
    assert hourly[0] == [pytest.approx(1029.5), T0 - 24 * HOUR]


def test_range_raw_is_used_when_range_is_missing(client: TestClient, keys: Keys) -> None:
    text = "project=alpha;target_endpoint=metrics;endpoint_id=ep1;metric=latency_avg_5m"
    body = grafana_body([target(text)])
    del body["range"]
    body["rangeRaw"] = {"from": str(T0 - 2 * HOUR), "to": str(T0)}
    points = client.post(PREFIX + "/query", json=body, headers=keys.header(keys.alpha_read)).json()[0]["datapoints"]
    assert points[0][1] >= T0 - 2 * HOUR and points[-1][1] < T0


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("project=alpha", "Expected 'target_endpoint'"),
        ("target_endpoint=nope;project=alpha", "supported values: "),
        ("target_endpoint=list_endpoints;project", "Expected query_key=query_value"),
        ("target_endpoint=list_endpoints;project=alpha;colour=red", "unknown parameter 'colour'"),
        ("target_endpoint=list_endpoints;project=alpha;filter_router=maybe", "filter_router"),
    ],
)
def test_bad_target_strings_are_400_naming_the_problem(
    client: TestClient, keys: Keys, text: str, fragment: str
) -> None:
    response = client.post(
        PREFIX + "/query", json=grafana_body([target(text, kind="table")]), headers=keys.header(keys.alpha_read)
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert fragment in body["message"] and body["message"].startswith("query A:")
    assert body["error"] == "bad request"


def test_unsupported_value_lists_the_supported_ones(client: TestClient, keys: Keys) -> None:
    response = client.post(
        PREFIX + "/query", json=grafana_body([target("target_endpoint=nope")]), headers=keys.header(keys.alpha_read)
    )
    message = response.json()["message"]
    for name in ("list_endpoints", "metrics", "incoming_features", "app_results", "project_summary"):
        assert name in message


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b'{"targets": "nope"}',
        b'{"targets": [{"target": 5}]}',
        b'{"maxDataPoints": -3}',
        b'{"targets": [{"target": "target_endpoint=list_endpoints;project=alpha"}], "range": {"from": "yesterday"}}',
    ],
)
def test_bodies_that_are_not_json_or_of_the_wrong_shape_are_400(client: TestClient, keys: Keys, raw: bytes) -> None:
    response = client.post(
        PREFIX + "/query", content=raw, headers={**keys.header(keys.alpha_read), "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert set(response.json()) == {"message", "error"}


def test_unknown_endpoint_is_404(client: TestClient, keys: Keys) -> None:
    body = grafana_body([target("target_endpoint=individual_feature_analysis;project=alpha;endpoint_id=nope")])
    response = client.post(PREFIX + "/query", json=body, headers=keys.header(keys.alpha_read))
    assert response.status_code == 404
    assert "nope" in response.json()["message"]


def test_endpoint_id_backslashes_from_grafana_regex_escaping_are_dropped(client: TestClient, keys: Keys) -> None:
    body = grafana_body([target("target_endpoint=individual_feature_analysis;project=alpha;endpoint_id=e\\p1")])
    response = client.post(PREFIX + "/query", json=body, headers=keys.header(keys.alpha_read))
    assert response.status_code == 200
    assert [row[0] for row in response.json()[0]["rows"]] == ["f1", "f2"]


def test_search_with_empty_target_offers_the_query_targets(client: TestClient, keys: Keys) -> None:
    answer = client.post(PREFIX + "/search", json={"target": ""}, headers=keys.header(keys.alpha_read)).json()
    assert "target_endpoint=list_endpoints" in answer


def test_annotations_are_detections_in_the_range(client: TestClient, keys: Keys) -> None:
    annotation = {
        "name": "drift",
        "enable": True,
        "iconColor": "red",
        "query": "project=alpha;endpoint_id=ep1",
        "datasource": {"type": "grafana-simple-json-datasource", "uid": "x"},
    }
    body = {
        "range": {"from": iso(T0 - HOUR), "to": iso(T0)},
        "rangeRaw": {"from": "now-1h", "to": "now"},
        "annotation": annotation,
    }
    answer = client.post(PREFIX + "/annotations", json=body, headers=keys.header(keys.alpha_read)).json()
    assert len(answer) == 1  # the status-0 result is not a detection
    item = answer[0]
    assert item["annotation"] == annotation
    assert item["time"] == T0 - 20 * 60_000 and item["timeEnd"] == T0 - 10 * 60_000
    assert item["title"] and "histogram-data-drift" in item["tags"]


def test_annotations_of_another_project_are_403(client: TestClient, keys: Keys) -> None:
    body = {"annotation": {"query": "project=beta"}}
    assert client.post(PREFIX + "/annotations", json=body, headers=keys.header(keys.alpha_read)).status_code == 403


def test_tag_keys_and_values_respect_access(client: TestClient, keys: Keys) -> None:
    header = keys.header(keys.alpha_read)
    tag_keys = client.post(PREFIX + "/tag-keys", json={}, headers=header).json()
    assert {"type": "string", "text": "project"} in tag_keys
    values = client.post(PREFIX + "/tag-values", json={"key": "endpoint_id"}, headers=header).json()
    assert values == [{"text": "ep1"}, {"text": "router1"}]
    assert client.post(PREFIX + "/tag-values", json={"key": "colour"}, headers=header).status_code == 400


def test_adhoc_filters_narrow_tables(client: TestClient, keys: Keys) -> None:
    body = grafana_body(
        [target("project=alpha;target_endpoint=list_endpoints", kind="table")],
        adhocFilters=[{"key": "endpoint_id", "operator": "=", "value": "router1"}],
    )
    rows = client.post(PREFIX + "/query", json=body, headers=keys.header(keys.alpha_read)).json()[0]["rows"]
    assert [row[0] for row in rows] == ["router1"]


def test_filter_router_false_means_no_filter(client: TestClient, keys: Keys) -> None:
    def uids(flag: str) -> list[str]:
        text = f"project=alpha;target_endpoint=list_endpoints;filter_router={flag}"
        frames = client.post(
            PREFIX + "/query", json=grafana_body([target(text, kind="table")]), headers=keys.header(keys.alpha_read)
        ).json()
        return sorted(row[0] for row in frames[0]["rows"])

    assert uids("False") == ["ep1", "router1"]
    assert uids("True") == ["ep1"]


def test_catastrophic_adhoc_regex_is_a_400_not_a_hang() -> None:
    # A pattern that backtracks exponentially on this subject: the time limit turns it into a 400.
    with pytest.raises(TargetError, match="too long"):
        _matches("a" * 60 + "b", "=~", "(a|aa)+$")


def test_invalid_adhoc_regex_is_400(client: TestClient, keys: Keys) -> None:
    bad = grafana_body(
        [target("project=alpha;target_endpoint=list_endpoints", kind="table")],
        adhocFilters=[{"key": "endpoint_id", "operator": "=~", "value": "(unclosed"}],
    )
    response = client.post(PREFIX + "/query", json=bad, headers=keys.header(keys.alpha_read))
    assert response.status_code == 400 and "regex" in response.json()["message"]


def test_search_of_endpoints_names_each_uid_and_plain_lists_stay_strings(client: TestClient, keys: Keys) -> None:
    # The plugin shows {"text", "value"} objects as text and uses the value: names in the drop-down,
    # uids in the queries. Searches without names keep answering plain strings.
    header = keys.header(keys.alpha_read)
    body = {"target": "target_endpoint=list_endpoints;project=alpha"}
    answer = client.post(PREFIX + "/search", json=body, headers=header).json()
    assert answer == [{"text": "churn", "value": "ep1"}, {"text": "router", "value": "router1"}]
    projects = client.post(PREFIX + "/search", json={"target": "target_endpoint=list_projects"}, headers=header)
    assert projects.json() == ["alpha"]
