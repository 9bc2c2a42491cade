"""Assembling and running a gateway: its own spool on the stores, the audit table, the proxy app.

``build_gateway`` gives the app and its stop function so the gateway can also run inside another
process (the one-command demo, the end-to-end test); ``run_gateway`` is the ``grafana-proxy gateway``
process around it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import uvicorn

from grafana_proxy.gateway.proxy import GatewayApp, GatewayOptions, create_gateway_app
from grafana_proxy.gateway.recorder import CallRecorder
from grafana_proxy.gateway.table import CallTable
from grafana_proxy.ingest.config import pipeline_config
from grafana_proxy.ingest.pipeline import IngestPipeline
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from grafana_proxy.stores.engine import close_stores, open_stores


def function_name(service_url: str) -> str:
    """A function name for the endpoint uid when none is given: the service's host name."""
    host = urlsplit(service_url).hostname or "service"
    return re.sub(r"[^A-Za-z0-9_.-]", "-", host)


@dataclass
class Gateway:
    app: GatewayApp
    pipeline: IngestPipeline
    stop: Callable[[], None]  # idempotent: folds the spool, closes the audit table (runs at lifespan end too)


def build_gateway(
    settings: Settings,
    stores: Stores,
    service_url: str,
    project: str,
    spool_name: str,
    table: str | None = None,
    table_db_url: str | None = None,
    function: str | None = None,
    model: str | None = None,
    on_stop: Callable[[], None] | None = None,
) -> Gateway:
    """A gateway recording into ``stores`` through its own spool ``<spool_dir>/<spool_name>``; its worker
    is running when this returns. ``on_stop`` runs last in ``stop`` (e.g. closing stores it owns)."""
    config = pipeline_config(settings)
    pipeline = IngestPipeline(config, stores, name=spool_name)
    try:
        call_table = CallTable(table_db_url or settings.database_url, table) if table else None
    except BaseException:
        pipeline.stop()
        raise
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if stopped:
            return
        stopped = True
        try:
            pipeline.stop()  # folds what is spooled; the spool keeps it anyway if this fails
        finally:
            if call_table is not None:
                call_table.close()
            if on_stop is not None:
                on_stop()

    pipeline.start()
    recorder = CallRecorder(
        pipeline, project, function or function_name(service_url), model, config.gateway_queue_size, call_table
    )
    options = GatewayOptions(
        service_url=service_url,
        connect_timeout=config.gateway_connect_timeout,
        read_timeout=config.gateway_read_timeout,
        max_connections=config.gateway_max_connections,
    )
    return Gateway(create_gateway_app(options, recorder, on_stop=stop), pipeline, stop)


def run_gateway(
    settings: Settings,
    service_url: str,
    project: str,
    host: str | None = None,
    port: int = 8081,
    table: str | None = None,
    table_db_url: str | None = None,
    function: str | None = None,
    model: str | None = None,
) -> None:
    """Serve the gateway until interrupted, on ``host`` (default: ``settings.host``). Each gateway port
    has its own spool (``gateway-<port>``)."""
    stores = open_stores(settings)
    try:
        gateway = build_gateway(
            settings,
            stores,
            service_url,
            project,
            f"gateway-{port}",
            table,
            table_db_url,
            function,
            model,
            on_stop=lambda: close_stores(stores),
        )
    except BaseException:
        close_stores(stores)
        raise
    try:
        uvicorn.run(gateway.app, host=host or settings.host, port=port, log_level="warning")
    finally:
        gateway.stop()
