"""The HTTP side of the metrics: a middleware that counts every request by route template, and
``GET /metrics`` in Prometheus' text exposition format."""

from __future__ import annotations

import re
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grafana_proxy.auth import OPEN_PRINCIPAL, Principal, authenticate
from grafana_proxy.deps import RuntimeDep
from grafana_proxy.observability.models import ModelMetrics
from grafana_proxy.observability.service import ServiceMetrics

UNMATCHED = "<unmatched>"  # one label for every unknown path, so scanners cannot grow the label set


class RouteTemplates:
    """Request path -> route template (``/api/v1/projects/{project}/...``), never the raw path.

    Built from the app's OpenAPI paths (which carry the include prefixes) plus its plain routes
    (/docs ...), because FastAPI puts the un-prefixed route object in ``scope["route"]`` for
    included routers. Matching here also labels requests answered before routing (413)."""

    CACHE_SIZE = 4096  # distinct matched paths remembered (e.g. one per endpoint uid); then forgotten

    def __init__(self) -> None:
        self._table: list[tuple[re.Pattern[str], str]] | None = None
        # Path -> template of paths seen before: a Grafana refresh repeats the same few paths, and
        # matching walks every route's regex. Only matched paths are kept, and at most CACHE_SIZE.
        self._seen: dict[str, str] = {}

    def _build(self, app: Any) -> list[tuple[re.Pattern[str], str]]:
        paths: set[str] = set()
        openapi = getattr(app, "openapi", None)
        if callable(openapi):
            paths.update(openapi().get("paths", {}))
        for route in getattr(getattr(app, "router", None), "routes", ()):
            if isinstance(getattr(route, "path", None), str):
                paths.add(route.path)
        # Literal paths first, so "/{uid}" never shadows a fixed segment of the same length.
        ordered = sorted(paths, key=lambda path: (path.count("{"), -len(path)))
        return [(compile_path(path)[0], path) for path in ordered]

    def __call__(self, scope: Scope) -> str:
        if self._table is None:
            self._table = self._build(scope.get("app"))
        path = scope.get("path", "")
        known = self._seen.get(path)
        if known is not None:
            return known
        for regex, template in self._table:
            if regex.match(path):
                if len(self._seen) >= self.CACHE_SIZE:
                    self._seen.clear()
                self._seen[path] = template
                return template
        return UNMATCHED


class HttpMetricsMiddleware:
    """Counts and times every HTTP request; placed outside the body limit so 413s are counted too."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self.templates = RouteTemplates()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # an exception that escapes the app becomes a 500 further out
        started = time.perf_counter()

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            self.metrics.observe_request(scope["method"], self.templates(scope), status, time.perf_counter() - started)


class _Families(Collector):
    """A fixed list of families, to render the model metrics of one caller with prometheus_client."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> list[Metric]:
        return self._families


async def metrics_principal(request: Request, runtime: RuntimeDep) -> Principal:
    """``/metrics`` needs a key unless ``GRAFANA_PROXY_METRICS_PUBLIC`` is true; the model metrics
    then show only the key's projects (project and endpoint names are what keys protect)."""
    if runtime.settings.metrics_public:
        return OPEN_PRINCIPAL
    return await authenticate(request, runtime)


router = APIRouter(tags=["operations"])


def _render(service: ServiceMetrics, models: ModelMetrics, principal: Principal) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(models.families(principal.access)))
    return generate_latest(service.registry) + service.controller_exposition() + generate_latest(registry)


@router.get(
    "/metrics",
    summary="Prometheus metrics: service (requests, targets, ingest, controller) and models (per endpoint)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
async def metrics(runtime: RuntimeDep, principal: Annotated[Principal, Depends(metrics_principal)]) -> Response:
    # Reads the stores: off the loop.
    body = await run_in_threadpool(_render, runtime.metrics, runtime.model_metrics, principal)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
