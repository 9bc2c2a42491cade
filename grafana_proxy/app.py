"""``create_app(runtime)``: the api role's FastAPI application — the datasource, the write API and the
events API. It mounts routers and middleware and runs no background work: folding events is the ingest
role's, monitoring the controller's (``grafana_proxy.roles``)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from grafana_proxy import __version__
from grafana_proxy.api import artifacts, batches, endpoints, events, ground_truth, monitoring, reference, uploads
from grafana_proxy.apidocs import install_api_docs
from grafana_proxy.deps import RuntimeDep, runtime_of
from grafana_proxy.errors import error_response, json_response
from grafana_proxy.handlers import install_error_handlers
from grafana_proxy.ingest.counter import accepted_in
from grafana_proxy.ingest.inbox import InboxWriter, OwnedSink
from grafana_proxy.middleware import BodyLimitMiddleware, RequestLogMiddleware
from grafana_proxy.observability import IngestSnapshot, install_metrics
from grafana_proxy.observability.status import read_bytes, read_ingest_status, status_path
from grafana_proxy.protocol import infinity, simplejson, simpod
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import AuthMode

logger = logging.getLogger("grafana_proxy")

DATASOURCE_PREFIXES = ("/api/grafana-proxy/model-endpoints", "/api/v1/grafana-proxy/model-endpoints")


def create_app(runtime: Runtime) -> FastAPI:
    settings = runtime.settings
    if settings.bootstrap_key is not None:
        # Registered before the first request so a provisioned Grafana works with no manual step.
        runtime.stores.keys.adopt(
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
    app.state.runtime = runtime  # the only thing on app.state; routes read it through RuntimeDep
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
    app.include_router(uploads.router)
    app.include_router(artifacts.router)
    _add_health(app)
    install_api_docs(app, "grafana-proxy")
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, batch_max_bytes=settings.batch_max_bytes)
    install_metrics(app, runtime)  # outside the body limit, so 413s are counted
    app.add_middleware(RequestLogMiddleware)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Accept events into this process's sink (an inbox the ingest role folds, or the JetStream stream),
    unless the runtime already has somewhere to put them (a test folding in the same process)."""
    runtime = runtime_of(app)
    if runtime.events is not None:
        yield
        return
    sink = await run_in_threadpool(runtime.open_event_sink, "api")
    runtime.events = sink

    def snapshot() -> IngestSnapshot:
        # Accepted here; waiting to be folded as the ingest role last reported it.
        folded = read_ingest_status(runtime.ingest.spool_dir)
        return IngestSnapshot(
            accepted_events_total=_accepted(runtime, sink),
            backlog_records=int(folded.get("backlog_records", 0)),
            dead_lettered_total=int(folded.get("dead_lettered_total", 0)),
            publish_failures_total=getattr(sink, "publish_failures", None),
        )

    runtime.metrics.set_ingest_provider(snapshot)
    controller = status_path(runtime.ingest.spool_dir, "controller", ".prom")
    runtime.metrics.set_controller_source(lambda: read_bytes(controller))
    try:
        yield
    finally:
        runtime.metrics.set_controller_source(None)
        runtime.metrics.set_ingest_provider(None)
        runtime.events = None
        await run_in_threadpool(sink.close)


def _accepted(runtime: Runtime, sink: OwnedSink) -> int:
    """Events accepted: with the spool, by every process sharing the spool directory (this one's live
    count, the others' count files); with the stream, what this process published."""
    if isinstance(sink, InboxWriter):
        return accepted_in(runtime.ingest.spool_dir, {sink.directory: sink.accepted_events})
    return sink.accepted_events


def _add_health(app: FastAPI) -> None:
    @app.get("/healthz", tags=["operations"], summary="Liveness: the process answers")
    def healthz() -> Response:
        return json_response({"status": "ok", "version": __version__})

    @app.get("/readyz", tags=["operations"], summary="Readiness: the database answers")
    def readyz(runtime: RuntimeDep) -> Response:
        try:
            runtime.stores.endpoints.projects()
        except Exception as exc:  # any failure means "not ready"; the reason goes to the log
            logger.warning("readiness check failed: %s", type(exc).__name__)
            return error_response(503, "the database does not answer", "not ready")
        return json_response({"status": "ready"})
