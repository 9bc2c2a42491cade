"""Schemathesis against our own OpenAPI schema (``app.openapi()``), in process: every operation, with a
valid all-projects write key, must answer without a 500 and without a stack trace.

The datasource routes read their bodies by hand (Grafana sends dozens of keys that change between
versions), so the schema FastAPI derives has no request body for them; the test adds the pydantic
models those routes parse, so schemathesis generates bodies for them too. Requests go through
FastAPI's TestClient (httpx): schemathesis' own ASGI transport needs ``requests`` internals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from schemathesis.core import NotSet

from grafana_proxy.app import create_app
from grafana_proxy.protocol.requests import (
    AnnotationRequest,
    MetricsRequest,
    PayloadOptionsRequest,
    QueryRequest,
    SearchRequest,
    TagValuesRequest,
    VariableRequest,
)
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from tests.security.conftest import seed_hostile
from tests.security.routes import DATASOURCE_PREFIXES

EXAMPLES_PER_OPERATION = 12  # ~40 operations: the whole run stays well under a minute
BODIES: dict[tuple[str, str], type[BaseModel]] = {
    ("post", "/search"): SearchRequest,
    ("post", "/query"): QueryRequest,
    ("post", "/annotations"): AnnotationRequest,
    ("post", "/tag-values"): TagValuesRequest,
    ("post", "/metrics"): MetricsRequest,
    ("post", "/metric-payload-options"): PayloadOptionsRequest,
    ("post", "/variable"): VariableRequest,
    ("post", "/rows"): QueryRequest,
}


def schema_with_bodies(app: FastAPI) -> dict[str, Any]:
    schema = json.loads(json.dumps(app.openapi()))  # a copy: the app caches its own
    models = sorted(set(BODIES.values()), key=lambda m: m.__name__)
    refs, definitions = models_json_schema(
        [(model, "validation") for model in models], ref_template="#/components/schemas/{model}"
    )
    schema.setdefault("components", {}).setdefault("schemas", {}).update(definitions.get("$defs", {}))
    for path, operations in schema["paths"].items():
        prefix = next((p for p in DATASOURCE_PREFIXES if path.startswith(p)), None)
        for method, operation in operations.items():
            model = BODIES.get((method, path[len(prefix) :])) if prefix else None
            if model is not None and "requestBody" not in operation:
                body_schema = refs[(model, "validation")]
                operation["requestBody"] = {"content": {"application/json": {"schema": body_schema}}}
    return schema


@pytest.fixture
def fuzzed_app(stores: Stores, tmp_path: Path) -> Iterator[tuple[TestClient, str, dict[str, Any]]]:
    secrets = seed_hostile(stores)
    app = create_app(Runtime.build(Settings(data_dir=tmp_path, max_body_bytes=200_000), stores))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, secrets.all_write, schema_with_bodies(app)


def send_case(client: TestClient, key: str, case: Any) -> httpx.Response:
    headers = {k: v for k, v in (case.headers or {}).items() if isinstance(v, str)}
    headers["X-V3io-Session-Key"] = key
    kwargs: dict[str, Any] = {"params": case.query, "headers": headers}
    if case.body is not None and not isinstance(case.body, NotSet):
        kwargs["content"] = json.dumps(case.body).encode()
        headers["Content-Type"] = "application/json"
    return client.request(case.method, case.formatted_path, **kwargs)


def test_every_operation_survives_generated_requests(fuzzed_app: tuple[TestClient, str, dict[str, Any]]) -> None:
    client, key, raw_schema = fuzzed_app
    schema = schemathesis.openapi.from_dict(raw_schema)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    seen: dict[str, set[int]] = {}
    failures: list[str] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def run(case: Any) -> None:
            response = send_case(client, key, case)
            seen.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)
            if response.status_code >= 500 or "Traceback" in response.text:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query} {case.body!r:.200}: "
                    f"{response.status_code} {response.text[:200]}"
                )

        run()
    assert not failures, "\n".join(failures[:20])
    # The key was accepted: every operation answered something other than 401 at least once.
    refused = sorted(op for op, codes in seen.items() if codes <= {401})
    assert not refused and len(seen) == len(operations), refused
