"""Values each database treats differently (NUL in PostgreSQL text, 4-byte UTF-8 and long strings in
MariaDB, 64-bit overflow everywhere), through targets and the write API on all three backends:
a 4xx with a message, never a 500."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from fastapi.testclient import TestClient

from grafana_proxy.app import create_app
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from tests.http_fixtures import PREFIX
from tests.security.conftest import seed_hostile

VALUES = ["al\u0000pha", "😀" * 70, "x" * 5000, "ep1'; DROP TABLE endpoints; --", "%", "_", "\\", "9" * 40, "-1e308"]
TARGETS = [
    "target_endpoint=list_endpoints;project={v}",
    "target_endpoint=list_endpoints;project=alpha;uids={v};model={v};function={v};labels=team:{v}",
    "target_endpoint=metrics;project=alpha;endpoint_id={v};metric={v}",
    "target_endpoint=incoming_features;project=alpha;endpoint_id=ep1;features={v}",
    "target_endpoint=app_results;project=alpha;endpoint_id={v};application={v};name={v}",
    "target_endpoint=project_summary;project={v}",
]
SEARCHES = [
    "target_endpoint=list_metrics;project=alpha;endpoint_id={v}",
    "target_endpoint=list_applications;project=alpha;endpoint_id={v}",
]


def test_hostile_values_on_every_backend(stores: Stores, tmp_path: Path) -> None:
    secrets = seed_hostile(stores)
    app = create_app(Runtime.build(Settings(data_dir=tmp_path), stores))
    key = {"X-V3io-Session-Key": secrets.all_write, "Content-Type": "application/json"}
    failures = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for value in VALUES:
            requests = [("POST", PREFIX + "/query", {"targets": [{"target": t.format(v=value)}]}) for t in TARGETS]
            requests += [("POST", PREFIX + "/search", {"target": t.format(v=value)}) for t in SEARCHES]
            requests += [
                ("POST", PREFIX + "/annotations", {"annotation": {"query": f"project=alpha;endpoint_id={value}"}}),
                ("POST", PREFIX + "/tag-values", {"key": value}),
                ("GET", f"/api/v1/projects/{quote(value, safe='')}/model-endpoints", None),
                ("PUT", "/api/v1/projects/alpha/model-endpoints/ep1", {"name": value, "labels": {value: value}}),
                ("PUT", "/api/v1/projects/alpha/model-endpoints/ep1", {"model": value, "feature_names": [value]}),
                (
                    "POST",
                    "/api/v1/projects/alpha/model-endpoints/ep1/metrics",
                    {"points": [{"name": value, "timestamp": 1_700_000_000_000, "value": 1}]},
                ),
            ]
            for method, path, body in requests:
                content = None if body is None else json.dumps(body).encode()
                response = client.request(method, path, content=content, headers=key)
                if response.status_code >= 500 or "message" not in response.json() and response.status_code >= 400:
                    failures.append(f"{method} {path} {str(body)[:80]}: {response.status_code} {response.text[:150]}")
        # Whatever was accepted reads back: the project's listing and its endpoints table still answer.
        assert client.get("/api/v1/projects/alpha/model-endpoints", headers=key).status_code == 200
        table = client.post(
            PREFIX + "/query",
            headers=key,
            json={"targets": [{"target": "target_endpoint=list_endpoints;project=alpha"}]},
        )
        assert table.status_code == 200, table.text
    assert not failures, "\n".join(failures)
