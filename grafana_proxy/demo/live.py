"""The live part of ``grafana-proxy demo``: real data through the real pipeline, as processes.

traffic generator -> monitor gateway -> demo model service; the gateway records every call into its
inbox, the ingest role folds it into the stores, the controller analyses it at a short base period and
the api role answers Grafana. Each is a role of one supervisor (``grafana_proxy.supervisor``), started
in dependency order and stopped in reverse: traffic, gateway, api, controller, ingest (which folds
the last calls), model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from grafana_proxy.demo_model import FEATURES
from grafana_proxy.ingest.events import endpoint_uid
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from grafana_proxy.supervisor import RoleSpec, cli_argv
from grafana_proxy.vocabulary import EVIDENTLY_DATA_DRIFT

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
    above unless the environment set them. With the Evidently extra installed the demo also runs
    ``evidently-data-drift``, so its reports show on the dashboards."""
    update = {k: v for k, v in DEMO_SETTINGS.items() if k not in settings.model_fields_set}
    update.update(db_url=None)
    if "monitoring_applications" not in settings.model_fields_set and evidently_available():
        update["monitoring_applications"] = [*settings.monitoring_applications, EVIDENTLY_DATA_DRIFT]
    return settings.model_copy(update=update)


def evidently_available() -> bool:
    from grafana_proxy.apps.evidently_base import require_evidently

    try:
        require_evidently(EVIDENTLY_DATA_DRIFT)
    except ValueError:
        return False
    return True


def role_environment(settings: Settings) -> dict[str, str]:
    """What the role processes must see of the demo's settings (they read their own from the environment;
    a list goes as JSON, as pydantic-settings reads it)."""
    names = [*DEMO_SETTINGS, "monitoring_applications"]
    env = {
        f"GRAFANA_PROXY_{name.upper()}": json.dumps(value) if isinstance(value, list) else str(value)
        for name in names
        for value in (getattr(settings, name),)
    }
    env["GRAFANA_PROXY_DB_URL"] = settings.database_url
    env["GRAFANA_PROXY_DATA_DIR"] = str(settings.data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass(frozen=True)
class LivePlan:
    host: str = "127.0.0.1"
    port: int = 8080  # the api role (the datasource)
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


def register_live_endpoint(stores: Stores, project: str = LIVE_PROJECT, archive_url: str | None = None) -> str:
    """Register the gateway's endpoint with the demo model's reference statistics before traffic starts,
    so drift is analysed from the first window, and keep the training rows in the archive storage (for
    Evidently). Returns its uid (the one the gateway derives)."""
    from grafana_proxy.monitoring.stats import reference_stats
    from grafana_proxy.traffic import training_frame

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


def live_roles(settings: Settings, plan: LivePlan) -> list[RoleSpec]:
    """The demo's processes, in start order (each waits for the previous one's port where it has one)."""
    env = role_environment(settings)
    host, reach = plan.host, _reachable(plan.host).strip("[]")

    def role(name: str, *args: str, port: int | None = None, once: bool = False) -> RoleSpec:
        return RoleSpec(name, cli_argv(*args), env=env, port=port, host=reach, once=once)

    return [
        role("model", "demo-model", "--host", host, "--port", str(plan.model_port), port=plan.model_port),
        role("ingest", "run", "ingest"),
        role("controller", "run", "controller"),
        role("api", "run", "api", "--host", host, "--port", str(plan.port), port=plan.port),
        role(
            "gateway",
            *("gateway", "--service-url", plan.model_url, "--project", plan.project),
            *("--host", host, "--port", str(plan.gateway_port), "--function", LIVE_FUNCTION),
            port=plan.gateway_port,
        ),
        role(
            "traffic",
            *("traffic", "--url", plan.gateway_url, "--rate", f"{plan.rate:g}", "--duration", f"{plan.duration:g}"),
            *("--drift-after", f"{plan.drift_after:g}", "--model", LIVE_MODEL),
            *("--error-share", f"{plan.error_share:g}"),
            once=True,
        ),
    ]
