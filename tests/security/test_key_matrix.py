"""The key matrix, on every backend: no key, malformed and revoked keys, a read key on the write API
and project A's key on project B — 401/403 on every route, and no answer to an alpha-only key ever
carries one of beta's names or values."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from grafana_proxy.app import create_app
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from tests.http_fixtures import PREFIX
from tests.security.conftest import BETA_SECRETS, Secrets, seed_hostile
from tests.security.routes import Call, calls

HEADER_FORMS = ("X-V3io-Session-Key", "X-V3io-Access-Key", "Authorization")


def headers(key: str, form: str = "X-V3io-Session-Key") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if form == "Authorization" else {form: key}


def send(client: TestClient, call: Call, extra: dict[str, str]) -> httpx.Response:
    return client.request(call.method, call.path, json=call.json, params=call.params, headers=extra)


def assert_no_beta(response: httpx.Response, sent: str) -> None:
    body = response.text
    for secret in BETA_SECRETS:
        assert secret not in body, f"beta's {secret!r} leaked: {sent} -> {response.status_code} {body[:300]}"
    if "ep9" not in sent:
        assert "ep9" not in body, f"beta's endpoint id leaked: {sent} -> {body[:300]}"


@pytest.fixture
def matrix(stores: Stores, tmp_path: Path) -> Iterator[tuple[TestClient, Secrets]]:
    secrets = seed_hostile(stores)
    app = create_app(Runtime.build(Settings(data_dir=tmp_path, max_body_bytes=200_000), stores))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, secrets


def test_every_route_refuses_missing_malformed_and_revoked_keys(matrix: tuple[TestClient, Secrets]) -> None:
    client, secrets = matrix
    valid = secrets.alpha_read
    bad_keys = [
        "garbage",
        "gp_",
        "gp_00000000_" + "A" * 43,  # well-formed, unknown id
        valid[:-1] + ("A" if valid[-1] != "A" else "B"),  # right id, wrong secret
        valid[:-5],
        valid + "x",
        valid.replace("gp_", "GP_"),
        "' OR '1'='1",
        "k" * 8000,
        secrets.revoked,
    ]
    routes = calls(client.app, "alpha")  # type: ignore[arg-type]
    assert len(routes) >= 30, [c.template for c in routes]
    failures = []
    for index, call in enumerate(routes):
        answers = [("no key", send(client, call, {}))]
        answers.append(("empty bearer", send(client, call, {"Authorization": "Bearer "})))
        answers.append(("basic auth", send(client, call, {"Authorization": "Basic YWRtaW46YWRtaW4="})))
        for n, bad in enumerate(bad_keys):
            form = HEADER_FORMS[(index + n) % len(HEADER_FORMS)]
            answers.append((f"{bad[:20]!r} in {form}", send(client, call, headers(bad, form))))
        for label, response in answers:
            if response.status_code != 401 or "message" not in response.json():
                failures.append(
                    f"{call.method} {call.template} with {label}: {response.status_code} {response.text[:120]}"
                )
    assert not failures, "\n".join(failures)


def test_read_key_and_other_projects_key_are_forbidden(matrix: tuple[TestClient, Secrets]) -> None:
    client, secrets = matrix
    failures = []
    for index, call in enumerate(calls(client.app, "beta", uid="ep9")):  # type: ignore[arg-type]
        form = HEADER_FORMS[index % len(HEADER_FORMS)]
        if call.scoped:
            for key in (secrets.alpha_read, secrets.alpha_write):
                if call.writes and key == secrets.alpha_read:
                    continue  # read key on a write route: checked below
                response = send(client, call, headers(key, form))
                assert_no_beta(response, f"{call.method} {call.path} {call.json} {call.params}")
                if response.status_code != 403:
                    failures.append(
                        f"alpha key on {call.method} {call.path}: {response.status_code} {response.text[:120]}"
                    )
        if call.writes:
            for key in (secrets.alpha_read, secrets.all_read, secrets.beta_read):
                response = send(client, call, headers(key, form))
                if response.status_code != 403:
                    failures.append(
                        f"read key on {call.method} {call.path}: {response.status_code} {response.text[:120]}"
                    )
    assert not failures, "\n".join(failures)
    # Nothing was planted or deleted in beta by the refused writes.
    ok = client.get("/api/v1/projects/beta/model-endpoints/ep9", headers=headers(secrets.all_read))
    assert ok.status_code == 200 and ok.json()["name"] == "secret-model"
    assert client.get("/api/v1/projects/beta/model-endpoints/ep1", headers=headers(secrets.all_read)).status_code == 404


BETA_TARGETS = [
    "target_endpoint=list_endpoints;project=beta",
    "target_endpoint=individual_feature_analysis;project=beta;endpoint_id=ep9",
    "target_endpoint=overall_feature_analysis;project=beta;endpoint_id=ep9",
    "target_endpoint=incoming_features;project=beta;endpoint_id=ep9",
    "target_endpoint=metrics;project=beta;metric=beta_only_metric",
    "target_endpoint=metrics;project=beta;endpoint_id=ep9;metric=beta_only_metric",
    "target_endpoint=app_results;project=beta",
    "target_endpoint=app_results;project=beta;format=table",
    "target_endpoint=project_summary;project=beta",
    # Tricks: duplicates (the last wins), lists, case, padding, regex and multi-value forms.
    "target_endpoint=list_endpoints;project=alpha;project=beta",
    "target_endpoint=list_endpoints;project=alpha,beta",
    "target_endpoint=list_endpoints;project={alpha,beta}",
    "target_endpoint=list_endpoints;project=(alpha|beta)",
    "target_endpoint=list_endpoints;project=Beta",
    "target_endpoint=list_endpoints;project= beta ",
    "target_endpoint=list_endpoints;project=beta%00",
    "target_endpoint=list_endpoints;project=%",
    "target_endpoint=list_endpoints;project=alpha' OR '1'='1",
]
ALPHA_TARGETS_NAMING_BETA_IDS = [
    "target_endpoint=metrics;project=alpha;endpoint_id=ep9;metric=beta_only_metric",
    "target_endpoint=metrics;project=alpha;endpoint_id=ep1,ep9;metric=beta_only_metric,latency_avg_5m",
    "target_endpoint=incoming_features;project=alpha;endpoint_id=ep9",
    "target_endpoint=individual_feature_analysis;project=alpha;endpoint_id=ep9",
    "target_endpoint=app_results;project=alpha;endpoint_id=ep9;format=table",
    "target_endpoint=list_endpoints;project=alpha;uids=ep9",
    "target_endpoint=metrics;project=alpha;metric=beta_only_metric",
]
# /rows answers project=* for every project the key may read (the alert rules' form): allowed, and
# checked like every answer here to hold nothing of beta.
WILDCARD_TARGETS = [
    "target_endpoint=list_endpoints;project=*",
    "target_endpoint=metrics;project=*;metric=beta_only_metric",
]
SEARCHES = [
    "target_endpoint=list_endpoints;project=beta",
    "target_endpoint=list_metrics;project=beta;endpoint_id=ep9",
    "target_endpoint=list_applications;project=beta",
    "target_endpoint=list_applications;project=beta;endpoint_id=ep9",
]


def _datasource_requests(target: str) -> list[tuple[str, str, Any, dict[str, str]]]:
    return [
        ("POST", "/query", {"targets": [{"target": target, "refId": "A"}], "range": {"from": 0, "to": 4e12}}, {}),
        ("GET", "/rows", None, {"target": target, "from": "0", "to": "4000000000000"}),
        ("POST", "/rows", {"targets": [{"target": target}], "from": 0, "to": 4e12}, {}),
    ]


def test_targets_annotations_and_variables_of_another_project(matrix: tuple[TestClient, Secrets]) -> None:
    client, secrets = matrix
    key = headers(secrets.alpha_read)
    failures = []
    requests: list[tuple[str, str, Any, dict[str, str], set[int]]] = []
    for target in BETA_TARGETS:
        requests += [(m, p, b, q, {400, 403}) for m, p, b, q in _datasource_requests(target)]
    for target in ALPHA_TARGETS_NAMING_BETA_IDS:
        requests += [(m, p, b, q, {200, 400, 404}) for m, p, b, q in _datasource_requests(target)]
    for target in WILDCARD_TARGETS:
        requests += [(m, p, b, q, {200, 400, 403}) for m, p, b, q in _datasource_requests(target)]
    for target in SEARCHES:
        requests.append(("POST", "/search", {"target": target}, {}, {403}))
        requests.append(("POST", "/variable", {"payload": {"target": target}}, {}, {403}))
    simpod = {"project": "beta", "endpoint_id": "ep9", "metric": ["beta_only_metric"]}
    requests += [
        ("POST", "/query", {"targets": [{"target": "metrics", "payload": simpod}]}, {}, {403}),
        (
            "POST",
            "/query",
            {"targets": [{"target": "metrics", "payload": {**simpod, "project": ["alpha", "beta"]}}]},
            {},
            {400, 403},
        ),
        ("POST", "/search", {"target": "list_endpoints", "payload": {"project": "beta"}}, {}, {403}),
        (
            "POST",
            "/annotations",
            {"annotation": {"query": "project=beta"}, "range": {"from": 0, "to": 4e12}},
            {},
            {403},
        ),
        (
            "POST",
            "/annotations",
            {
                "annotation": {"query": "project=beta;endpoint_id=ep9;application=beta-only-app"},
                "range": {"from": 0, "to": 4e12},
            },
            {},
            {403},
        ),
        (
            "POST",
            "/annotations",
            {"annotation": {"query": "project=alpha;endpoint_id=ep9"}, "range": {"from": 0, "to": 4e12}},
            {},
            {200, 404},
        ),
        ("POST", "/metric-payload-options", {"name": "endpoint_id", "payload": {"project": "beta"}}, {}, {403}),
        (
            "POST",
            "/metric-payload-options",
            {"name": "metric", "payload": {"project": "beta", "endpoint_id": "ep9"}},
            {},
            {403},
        ),
        (
            "POST",
            "/metric-payload-options",
            {"name": "application", "payload": {"project": "beta", "endpoint_id": "ep9"}},
            {},
            {403},
        ),
    ]
    for index, (method, path, body, params, expected) in enumerate(requests):
        form = HEADER_FORMS[index % len(HEADER_FORMS)]
        key = headers(secrets.alpha_read, form)
        response = client.request(method, PREFIX + path, json=body, params=params, headers=key)
        sent = f"{method} {path} {body} {params}"
        assert_no_beta(response, sent)
        if response.status_code not in expected:
            failures.append(f"{sent}: {response.status_code} (expected {sorted(expected)}) {response.text[:160]}")
    assert not failures, "\n".join(failures)
    # The same requests with an all-projects key do reach beta: the refusals above are about the key.
    answer = client.post(
        PREFIX + "/query", headers=headers(secrets.all_read), json={"targets": [{"target": BETA_TARGETS[0]}]}
    )
    assert answer.status_code == 200 and "secret-model" in answer.text


def test_listings_show_only_the_keys_projects(matrix: tuple[TestClient, Secrets]) -> None:
    client, secrets = matrix
    key = headers(secrets.alpha_read, "Authorization")
    listing = [
        ("POST", "/search", {"target": "target_endpoint=list_projects"}, {}),
        ("POST", "/search", {"target": ""}, {}),
        ("POST", "/variable", {"payload": {"target": "target_endpoint=list_projects"}}, {}),
        ("POST", "/metric-payload-options", {"name": "project", "payload": {}}, {}),
        ("POST", "/tag-values", {"key": "project"}, {}),
        ("POST", "/tag-values", {"key": "endpoint_id"}, {}),
        ("POST", "/tag-values", {"key": "model"}, {}),
        ("POST", "/tag-values", {"key": "function"}, {}),
        ("GET", "/rows", None, {"target": "target_endpoint=list_projects"}),
        ("POST", "/query", {"targets": [{"target": "target_endpoint=list_endpoints;project=alpha"}]}, {}),
        (
            "POST",
            "/query",
            {"targets": [{"target": "target_endpoint=metrics;project=alpha;metric=latency_avg_5m"}]},
            {},
        ),
        ("POST", "/metrics", {}, {}),
    ]
    for method, path, body, params in listing:
        response = client.request(method, PREFIX + path, json=body, params=params, headers=key)
        assert response.status_code == 200, (path, body, response.text)
        assert "beta" not in response.text, (path, body, response.text[:300])
        assert_no_beta(response, f"{path} {body}")
    projects = client.post(PREFIX + "/search", json={"target": "target_endpoint=list_projects"}, headers=key).json()
    assert projects == ["alpha"]
    every = client.post(
        PREFIX + "/search", json={"target": "target_endpoint=list_projects"}, headers=headers(secrets.all_read)
    ).json()
    assert set(every) >= {"alpha", "beta"}
    # The Prometheus endpoint filters model metrics by the key's projects the same way.
    scraped = client.get("/metrics", headers=key)
    assert scraped.status_code == 200 and 'project="alpha"' in scraped.text
    assert_no_beta(scraped, "/metrics")
    assert 'project="beta"' not in scraped.text
    assert 'project="beta"' in client.get("/metrics", headers=headers(secrets.all_read)).text
