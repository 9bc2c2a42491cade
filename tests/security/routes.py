"""Every route of the app as a request to make, for the key matrix. ``calls(app, project)`` covers the
whole OpenAPI schema: routes listed here get a realistic body; any other route (added later) gets
``{}``, so a new route is in the matrix the day it is mounted."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

DATASOURCE_PREFIXES = ("/api/grafana-proxy/model-endpoints", "/api/v1/grafana-proxy/model-endpoints")
WRITE_PREFIX = "/api/v1/projects/{project}/model-endpoints"
# Open by design: liveness/readiness for orchestrators and the API description.
PUBLIC = {"/healthz", "/readyz", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    template: str
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)
    writes: bool = False  # needs a write key
    scoped: bool = True  # names a project, so a key of another project must get 403


def _datasource_bodies(project: str) -> dict[tuple[str, str], tuple[Any, dict[str, str]]]:
    p = project
    return {
        ("GET", ""): (None, {}),
        ("GET", "/"): (None, {}),
        ("POST", "/search"): ({"target": f"target_endpoint=list_endpoints;project={p}"}, {}),
        ("POST", "/query"): ({"targets": [{"target": f"target_endpoint=list_endpoints;project={p}"}]}, {}),
        ("POST", "/annotations"): ({"annotation": {"query": f"project={p}"}}, {}),
        ("POST", "/tag-keys"): ({}, {}),
        ("POST", "/tag-values"): ({"key": "project"}, {}),
        ("POST", "/metrics"): ({}, {}),
        ("POST", "/metric-payload-options"): ({"name": "endpoint_id", "payload": {"project": p}}, {}),
        ("POST", "/variable"): ({"payload": {"target": f"target_endpoint=list_endpoints;project={p}"}}, {}),
        ("GET", "/rows"): (None, {"target": f"target_endpoint=list_endpoints;project={p}"}),
        ("POST", "/rows"): ({"target": f"target_endpoint=list_endpoints;project={p}"}, {}),
    }


# Datasource routes that take no project (they list what any key may see) are not "scoped".
_UNSCOPED_DATASOURCE = {("GET", ""), ("GET", "/"), ("POST", "/tag-keys"), ("POST", "/tag-values"), ("POST", "/metrics")}

_WRITE_BODIES: dict[tuple[str, str], Any] = {
    ("PUT", "/{uid}"): {"name": "planted"},
    ("GET", "/{uid}"): None,
    ("DELETE", "/{uid}"): None,
    ("GET", ""): None,
    ("POST", "/{uid}/metrics"): {"points": [{"name": "m", "timestamp": 1_700_000_000_000, "value": 1.0}]},
    ("POST", "/{uid}/features"): {"samples": [{"timestamp": 1_700_000_000_000, "values": {"f1": 1.0}}]},
    ("POST", "/{uid}/results"): {
        "results": [
            {
                "application": "a",
                "name": "n",
                "kind": 0,
                "status": 0,
                "value": 1.0,
                "start_infer_time": 1_700_000_000_000,
                "end_infer_time": 1_700_000_060_000,
            }
        ]
    },
}


def _fill(template: str, project: str, uid: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: project if m.group(0) == "{project}" else uid, template)


def calls(app: FastAPI, project: str, uid: str = "ep1") -> list[Call]:
    """One call per (method, route) of the OpenAPI schema, aimed at ``project``."""
    found: list[Call] = []
    datasource = _datasource_bodies(project)
    for template, operations in app.openapi()["paths"].items():
        if template in PUBLIC:
            continue
        for method in operations:
            method = method.upper()
            prefix = next((p for p in DATASOURCE_PREFIXES if template.startswith(p)), None)
            if prefix is not None and (method, template[len(prefix) :]) in datasource:
                suffix = template[len(prefix) :]
                body, params = datasource[(method, suffix)]
                scoped = (method, suffix) not in _UNSCOPED_DATASOURCE
                found.append(Call(method, template, template, body, params, scoped=scoped))
                continue
            if template.startswith(WRITE_PREFIX) and (method, template[len(WRITE_PREFIX) :]) in _WRITE_BODIES:
                body = _WRITE_BODIES[(method, template[len(WRITE_PREFIX) :])]
                found.append(Call(method, _fill(template, project, uid), template, body, writes=method != "GET"))
                continue
            # Not catalogued (a route added later): the generic body still proves the key checks.
            generic = None if method in ("GET", "DELETE") else {}
            found.append(
                Call(
                    method,
                    _fill(template, project, uid),
                    template,
                    generic,
                    writes=method not in ("GET",),
                    scoped="{project}" in template,
                )
            )
    return found
