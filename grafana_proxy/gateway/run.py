"""Assembling and running a gateway: its event sink (an inbox the ingest role folds, or the JetStream
stream), the audit table, the proxy app.

``build_gateway`` gives the app and its stop function so the gateway can also run inside another
process (tests); ``run_gateway`` is the ``grafana-proxy gateway`` process around it (a role of the demo)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import uvicorn

from grafana_proxy.gateway.proxy import GatewayApp, GatewayOptions, create_gateway_app
from grafana_proxy.gateway.recorder import CallRecorder
from grafana_proxy.gateway.table import CallTable
from grafana_proxy.ingest.inbox import OwnedSink
from grafana_proxy.runtime import Runtime


def function_name(service_url: str) -> str:
    """A function name for the endpoint uid when none is given: the service's host name."""
    host = urlsplit(service_url).hostname or "service"
    return re.sub(r"[^A-Za-z0-9_.-]", "-", host)


@dataclass
class Gateway:
    app: GatewayApp
    sink: OwnedSink
    stop: Callable[[], None]  # idempotent: closes the sink and the audit table (runs at lifespan end too)


def build_gateway(
    runtime: Runtime,
    service_url: str,
    project: str,
    table: str | None = None,
    table_db_url: str | None = None,
    function: str | None = None,
    model: str | None = None,
    on_stop: Callable[[], None] | None = None,
) -> Gateway:
    """A gateway recording calls durably into its own sink (``Runtime.open_event_sink``), from which the
    ingest role folds them into the stores.
    ``on_stop`` runs last in ``stop`` (e.g. closing a runtime it owns)."""
    config = runtime.gateway
    sink = runtime.open_event_sink("gateway")
    try:
        call_table = CallTable(table_db_url or runtime.settings.database_url, table) if table else None
    except BaseException:
        sink.close()
        raise
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if stopped:
            return
        stopped = True
        try:
            sink.close()  # what it made durable stays for the ingest role
        finally:
            if call_table is not None:
                call_table.close()
            if on_stop is not None:
                on_stop()

    recorder = CallRecorder(
        sink, project, function or function_name(service_url), model, config.gateway_queue_size, call_table
    )
    options = GatewayOptions(
        service_url=service_url,
        connect_timeout=config.gateway_connect_timeout,
        read_timeout=config.gateway_read_timeout,
        max_connections=config.gateway_max_connections,
    )
    return Gateway(create_gateway_app(options, recorder, on_stop=stop), sink, stop)


def run_gateway(
    runtime: Runtime,
    service_url: str,
    project: str,
    host: str | None = None,
    port: int = 8081,
    table: str | None = None,
    table_db_url: str | None = None,
    function: str | None = None,
    model: str | None = None,
) -> None:
    """Serve the gateway until interrupted, on ``host`` (default: ``settings.host``)."""
    gateway = build_gateway(runtime, service_url, project, table, table_db_url, function, model)
    try:
        uvicorn.run(gateway.app, host=host or runtime.settings.host, port=port, log_level="warning")
    finally:
        gateway.stop()
