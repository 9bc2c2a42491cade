"""The live part of ``grafana-proxy demo``: real data through the real pipeline, in one process.

traffic generator -> monitor gateway -> demo model service; the gateway records every call through its
own spool into the stores; ``serve`` (datasource, events API, ingest, and the monitoring controller at a
short base period) answers Grafana. Every server runs in a thread on loopback (or the given host), so the
main thread only waits for a signal and then stops them in order: traffic, gateway (its queue and spool
are folded into the stores), serve, model."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from grafana_proxy.demo_model import FEATURES, create_demo_model_app
from grafana_proxy.gateway.run import Gateway, build_gateway
from grafana_proxy.ingest.events import endpoint_uid
from grafana_proxy.monitoring.stats import reference_stats
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from grafana_proxy.traffic import TrafficReport, run_traffic, training_frame

log = logging.getLogger(__name__)

LIVE_PROJECT = "live-demo"
LIVE_FUNCTION = "demo-model"
LIVE_MODEL = "classifier"
# Demo-only defaults (a real deployment keeps MLRun's 10-minute base period): drift shows on the
# dashboards within minutes. A value set in the environment wins over these.
DEMO_SETTINGS: dict[str, Any] = {
    "monitoring_base_period_minutes": 1.0,
    "window_period_seconds": 10.0,
    "window_lateness_seconds": 5.0,
    "archive_batch_seconds": 10.0,
    "monitoring_window_delay_seconds": 20.0,
}


def demo_settings(settings: Settings) -> Settings:
    """The demo's settings: the embedded database (the demo must not seed a server) and the short periods
    above unless the environment set them; the controller always runs inside serve. With the Evidently
    extra installed the demo also runs ``evidently-data-drift``, so its reports show on the dashboards."""
    update = {k: v for k, v in DEMO_SETTINGS.items() if k not in settings.model_fields_set}
    update.update(db_url=None, controller_in_serve=True)
    if "monitoring_applications" not in settings.model_fields_set and evidently_available():
        update["monitoring_applications"] = [*settings.monitoring_applications, "evidently-data-drift"]
    return settings.model_copy(update=update)


def evidently_available() -> bool:
    from grafana_proxy.apps.evidently_base import require_evidently

    try:
        require_evidently("evidently-data-drift")
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class LivePlan:
    host: str = "127.0.0.1"
    port: int = 8080  # serve (the datasource)
    gateway_port: int = 8081
    model_port: int = 8090
    rate: float = 5.0  # requests per second
    duration: float = 3600.0  # seconds of traffic, then the demo keeps serving what it recorded
    drift_after: float = 300.0
    error_share: float = 0.02
    project: str = LIVE_PROJECT

    @property
    def gateway_url(self) -> str:
        return f"http://{_reachable(self.host)}:{self.gateway_port}"

    @property
    def model_url(self) -> str:
        return f"http://{_reachable(self.host)}:{self.model_port}"


def _reachable(host: str) -> str:
    reachable = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    return f"[{reachable}]" if ":" in reachable else reachable


class ThreadServer:
    """uvicorn in a daemon thread (no signal handling there: the caller owns the signals)."""

    def __init__(self, app: Any, host: str, port: int, name: str) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.name = name
        self.thread = threading.Thread(target=self.server.run, name=name, daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                host, port = self.server.config.host, self.server.config.port
                raise RuntimeError(f"{self.name} could not start on {host}:{port} (port in use?)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start within {timeout:g} s")
            time.sleep(0.02)

    def stop(self, timeout: float = 30.0) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout)


def register_live_endpoint(stores: Stores, project: str = LIVE_PROJECT, archive_url: str | None = None) -> str:
    """Register the gateway's endpoint with the demo model's reference statistics before traffic starts,
    so drift is analysed from the first window, and keep the training rows in the archive storage (for
    Evidently). Returns its uid (the one the gateway derives)."""
    function_uri = f"{project}/{LIVE_FUNCTION}"
    uid = endpoint_uid(project, function_uri, LIVE_MODEL)
    if archive_url is not None:
        from grafana_proxy.archive.reference import write_reference

        write_reference(archive_url, project, uid, training_frame())
    if stores.endpoints.get(project, uid) is None:
        stores.endpoints.upsert(
            project,
            uid,
            {
                "name": LIVE_MODEL,
                "function_uri": function_uri,
                "model": LIVE_MODEL,
                "model_class": "LogisticRegression",
                "feature_names": list(FEATURES),
                "label_names": ["prediction"],
                "feature_stats": reference_stats(training_frame()),
            },
        )
    return uid


@dataclass
class LiveDemo:
    """The running live demo; ``stop`` is idempotent."""

    plan: LivePlan
    uid: str
    servers: list[ThreadServer] = field(default_factory=list)
    gateway: Gateway | None = None
    traffic_stop: threading.Event = field(default_factory=threading.Event)
    traffic_thread: threading.Thread | None = None
    report: TrafficReport | None = None

    def _traffic(self) -> None:
        try:
            self.report = run_traffic(
                self.plan.gateway_url,
                rate=self.plan.rate,
                duration=self.plan.duration,
                drift_after=self.plan.drift_after,
                model=LIVE_MODEL,
                error_share=self.plan.error_share,
                stop=self.traffic_stop,
            )
            log.info("demo traffic finished: %s", self.report)
        except Exception:  # the demo keeps serving what it recorded; the reason goes to the log
            log.exception("demo traffic stopped")

    def stop(self) -> None:
        self.traffic_stop.set()
        if self.traffic_thread is not None:
            self.traffic_thread.join(15)
            self.traffic_thread = None
        while self.servers:  # reverse start order: gateway, serve, model
            self.servers.pop().stop()
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None


def start_live(settings: Settings, stores: Stores, plan: LivePlan) -> LiveDemo:
    """Start model, serve, gateway and traffic; on any failure what started is stopped again."""
    from grafana_proxy.app import create_app
    from grafana_proxy.ingest.config import pipeline_config

    demo = LiveDemo(plan, register_live_endpoint(stores, plan.project, pipeline_config(settings).archive_url))
    try:
        for app, port, name in (
            (create_demo_model_app(), plan.model_port, "demo model"),
            (create_app(settings, stores), plan.port, "serve"),
        ):
            server = ThreadServer(app, plan.host, port, name)
            server.start()
            demo.servers.append(server)
        demo.gateway = build_gateway(
            settings, stores, plan.model_url, plan.project, f"gateway-{plan.gateway_port}", function=LIVE_FUNCTION
        )
        server = ThreadServer(demo.gateway.app, plan.host, plan.gateway_port, "gateway")
        server.start()
        demo.servers.append(server)
        demo.traffic_thread = threading.Thread(target=demo._traffic, name="demo-traffic", daemon=True)
        demo.traffic_thread.start()
    except BaseException:
        demo.stop()
        raise
    return demo
