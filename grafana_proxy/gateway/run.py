"""Assembling and running a gateway process: stores, its own spool, the audit table, the proxy app."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import uvicorn

from grafana_proxy.gateway.proxy import GatewayOptions, create_gateway_app
from grafana_proxy.gateway.recorder import CallRecorder
from grafana_proxy.gateway.table import CallTable
from grafana_proxy.ingest.config import pipeline_config
from grafana_proxy.ingest.pipeline import IngestPipeline
from grafana_proxy.settings import Settings
from grafana_proxy.stores.engine import close_stores, open_stores


def function_name(service_url: str) -> str:
    """A function name for the endpoint uid when none is given: the service's host name."""
    host = urlsplit(service_url).hostname or "service"
    return re.sub(r"[^A-Za-z0-9_.-]", "-", host)


def run_gateway(
    settings: Settings,
    service_url: str,
    project: str,
    host: str = "127.0.0.1",
    port: int = 8081,
    table: str | None = None,
    table_db_url: str | None = None,
    function: str | None = None,
    model: str | None = None,
) -> None:
    """Serve the gateway until interrupted. Each gateway port has its own spool (``gateway-<port>``)."""
    config = pipeline_config(settings)
    stores = open_stores(settings)
    try:
        pipeline = IngestPipeline(config, stores, name=f"gateway-{port}")
    except BaseException:
        close_stores(stores)
        raise
    call_table = CallTable(table_db_url or settings.database_url, table) if table else None
    stopped = False

    def shutdown() -> None:
        nonlocal stopped
        if stopped:
            return
        stopped = True
        try:
            pipeline.stop()  # folds what is spooled; the spool keeps it anyway if this fails
        finally:
            if call_table is not None:
                call_table.close()
            close_stores(stores)

    try:
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
        app = create_gateway_app(options, recorder, on_stop=shutdown)
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        shutdown()
