"""The api role: the datasource, the write API and the events API under uvicorn, with one or several
worker processes. It runs no background work and never imports pandas, pyarrow or scipy."""

from __future__ import annotations

import sys

from fastapi import FastAPI

from grafana_proxy.roles import CannotStart, check_port
from grafana_proxy.settings import Settings
from grafana_proxy.stream.config import StreamConfig

# How long a thread may hold the GIL before another waiting thread gets it (Python's default: 5 ms). The
# api role's event loop answers panel queries while a thread checks an events batch; at 5 ms a query that
# needs the GIL a few times waits up to 5 ms each time. A shorter slice costs a little throughput of the
# check and gives the loop its turn sooner.
GIL_SWITCH_SECONDS = 0.0005


def app_from_environment() -> FastAPI:
    """The app of one uvicorn worker process (a fresh interpreter): logging, then its own runtime from
    the environment's settings."""
    from grafana_proxy.app import create_app
    from grafana_proxy.logs import setup_logging
    from grafana_proxy.runtime import Runtime

    settings = Settings()
    setup_logging(settings.log_level, settings.log_json)
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    return create_app(Runtime.build(settings))


def run_api(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    """Serve until SIGTERM / Ctrl-C. Several workers each build their own runtime (and inbox)."""
    import uvicorn

    check_port(host, port)
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    check_event_stream(settings)
    # uvicorn's access log prints the query string; the app's own request log prints method, path and
    # status only, so nothing a client sends (keys travel in headers) can reach a log line.
    # log_config=None keeps our logging setup, so uvicorn's lines are formatted (and JSON) like ours.
    level = settings.log_level.lower()
    if workers > 1:
        uvicorn.run(
            "grafana_proxy.roles.api:app_from_environment",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            access_log=False,
            log_config=None,
            log_level=level,
        )
        return
    from grafana_proxy.app import create_app
    from grafana_proxy.runtime import Runtime

    runtime = Runtime.build(settings)
    try:
        uvicorn.run(create_app(runtime), host=host, port=port, access_log=False, log_config=None, log_level=level)
    finally:
        runtime.close()


def check_event_stream(settings: Settings) -> None:
    """With ``stream_url`` set: ``CannotStart`` when the stream exists with a layout we cannot use. NATS
    unreachable does not stop the start: reads are served, events answer 503 until NATS is back."""
    config = StreamConfig.from_settings(settings)
    if not config.enabled:
        return
    from grafana_proxy.stream.errors import StreamMisconfigured
    from grafana_proxy.stream.publisher import check_stream

    try:
        check_stream(config)
    except StreamMisconfigured as error:
        raise CannotStart(str(error)) from None
