"""``create_app(settings)``: the FastAPI application. It mounts routers and middleware, nothing else."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import Response

from grafana_proxy import __version__
from grafana_proxy.api import artifacts, batches, endpoints, events, ground_truth, monitoring, reference
from grafana_proxy.apidocs import install_api_docs
from grafana_proxy.auth import KeyVerifier
from grafana_proxy.deps import StoresDep
from grafana_proxy.errors import error_response, install_error_handlers, json_response
from grafana_proxy.ingest.pipeline import IngestPipeline
from grafana_proxy.ingest.service import ingest_lifespan
from grafana_proxy.middleware import BodyLimitMiddleware, RequestLogMiddleware
from grafana_proxy.monitoring.controller import build_controller, start_background
from grafana_proxy.observability import install_metrics, service_metrics
from grafana_proxy.observability.service import IngestSnapshot
from grafana_proxy.protocol import infinity, simplejson, simpod
from grafana_proxy.settings import AuthMode, Settings
from grafana_proxy.stores.base import Stores
from grafana_proxy.targets.registry import load_registry

logger = logging.getLogger("grafana_proxy")

DATASOURCE_PREFIXES = ("/api/grafana-proxy/model-endpoints", "/api/v1/grafana-proxy/model-endpoints")


def create_app(settings: Settings, stores: Stores | None = None) -> FastAPI:
    if stores is None:
        from grafana_proxy.stores.engine import open_stores

        stores = open_stores(settings)
    if settings.bootstrap_key is not None:
        # Registered before the first request so a provisioned Grafana works with no manual step.
        stores.keys.adopt(
            settings.bootstrap_key.get_secret_value(), "bootstrap (GRAFANA_PROXY_BOOTSTRAP_KEY)", None, "read"
        )
    if settings.auth == AuthMode.none:
        logger.warning(
            "GRAFANA_PROXY_AUTH=none: access keys are NOT checked; anyone who can reach this port can "
            "read and write every project. Use it for local experiments only."
        )
    app = FastAPI(
        title="grafana-proxy",
        version=__version__,
        description="One Grafana datasource for models in production (SimpleJSON, simPod JSON, Infinity).",
        redirect_slashes=False,  # the plugins call the prefix with and without "/"; both must be 200
        lifespan=_lifespan,
        docs_url=None,  # /docs and /redoc come from install_api_docs, with assets served locally
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.stores = stores
    app.state.registry = load_registry()
    app.state.key_verifier = KeyVerifier(stores.keys)
    install_error_handlers(app)
    for prefix in DATASOURCE_PREFIXES:
        app.include_router(simplejson.router, prefix=prefix, tags=["datasource"])
        app.include_router(simpod.router, prefix=prefix, tags=["datasource"])
        app.include_router(infinity.router, prefix=prefix, tags=["datasource"])
        app.include_router(artifacts.datasource_router, prefix=prefix)
    app.include_router(endpoints.router)
    app.include_router(events.router)
    app.include_router(ground_truth.router)
    app.include_router(monitoring.router)
    app.include_router(batches.router)
    app.include_router(reference.router)
    app.include_router(artifacts.router)
    _add_health(app)
    install_api_docs(app, "grafana-proxy")
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, batch_max_bytes=settings.batch_max_bytes)
    install_metrics(app, stores)  # outside the body limit, so 413s are counted
    app.add_middleware(RequestLogMiddleware)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Background work of the serve process: the ingest pipeline (which replays the spool first) and,
    unless it runs as its own process, the monitoring controller; both report to /metrics."""
    settings: Settings = app.state.settings
    metrics = service_metrics(app)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(ingest_lifespan(app))
        pipeline: IngestPipeline = app.state.ingest
        metrics.set_ingest_provider(
            lambda: IngestSnapshot(
                accepted_events_total=pipeline.accepted_all_spools(),
                backlog_records=pipeline.backlog_records(),
                dead_lettered_total=pipeline.dead_lettered(),
            )
        )
        stack.callback(metrics.set_ingest_provider, None)
        if settings.controller_in_serve:
            controller = build_controller(settings, app.state.stores, on_pass=metrics.observe_controller_run)
            stack.callback(start_background(controller))
        yield


def _add_health(app: FastAPI) -> None:
    @app.get("/healthz", tags=["operations"], summary="Liveness: the process answers")
    def healthz() -> Response:
        return json_response({"status": "ok", "version": __version__})

    @app.get("/readyz", tags=["operations"], summary="Readiness: the database answers")
    def readyz(stores: StoresDep) -> Response:
        try:
            stores.endpoints.projects()
        except Exception as exc:  # any failure means "not ready"; the reason goes to the log
            logger.warning("readiness check failed: %s", type(exc).__name__)
            return error_response(503, "the database does not answer", "not ready")
        return json_response({"status": "ready"})
