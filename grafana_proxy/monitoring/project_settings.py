"""Per-project monitoring settings as the API and the CLI show and change them: a project without its own
settings shows the global ones; its first change starts it from the global application list."""

from __future__ import annotations

from typing import Any

from grafana_proxy.clock import now_ms
from grafana_proxy.model import ApplicationConfig, ApplicationStatus, ProjectMonitoring
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import MonitoringStore


def default_applications(project: str, settings: Settings) -> list[ApplicationConfig]:
    now = now_ms()
    return [ApplicationConfig(project, name, name, {}, None, now) for name in settings.monitoring_applications]


def project_view(project: str, own: ProjectMonitoring | None, settings: Settings) -> dict[str, Any]:
    if own is None:
        return {
            "project": project,
            "enabled": True,
            "base_period_minutes": settings.monitoring_base_period_minutes,
            "configured": False,
            "updated_at": None,
        }
    return {
        "project": project,
        "enabled": own.enabled,
        "base_period_minutes": own.base_period_minutes,
        "configured": True,
        "updated_at": own.updated_at,
    }


def application_view(config: ApplicationConfig, status: ApplicationStatus | None, configured: bool) -> dict[str, Any]:
    status = status or ApplicationStatus(config.name)
    return {
        "name": config.name,
        "application": config.application,
        "params": config.params,
        "endpoints": None if config.endpoints is None else list(config.endpoints),
        "configured": configured,
        "updated_at": config.updated_at or None,
        "last_run": status.last_run,
        "last_window_end": status.last_window_end,
        "last_error": status.last_error,
        "last_error_at": status.last_error_at,
        "counts": {"windows": status.windows, "results": status.results, "errors": status.errors},
    }


def ensure_project(store: MonitoringStore, project: str, settings: Settings) -> ProjectMonitoring:
    """The project's own settings, created from the global ones (and the global applications) if absent."""
    own = store.project(project)
    if own is None:
        own = ProjectMonitoring(project, True, settings.monitoring_base_period_minutes, now_ms())
        store.put_project(own, default_applications(project, settings))
    return own


def applications_view(store: MonitoringStore, project: str, settings: Settings) -> list[dict[str, Any]]:
    """The project's applications (the global ones when it has no settings) with their status."""
    statuses = store.statuses(project)
    if store.project(project) is None:
        return [application_view(c, statuses.get(c.name), False) for c in default_applications(project, settings)]
    return [application_view(c, statuses.get(c.name), True) for c in store.applications(project)]
