"""Per-project monitoring: which projects the controller analyses, with which base period and which
applications (with their parameters and endpoints). A project without its own settings uses the global
ones (``monitoring_base_period_minutes``, ``monitoring_applications``). Settings are read at the start of
every pass, so a change applies from the next window without a restart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from grafana_proxy.model import ApplicationConfig, ProjectMonitoring
from grafana_proxy.monitoring.applications import MonitoringApplication
from grafana_proxy.monitoring.config import MonitoringConfig
from grafana_proxy.monitoring.registry import Registry, load_application

MIN_BASE_PERIOD_MINUTES = 1.0


@dataclass(frozen=True)
class PlannedApp:
    """One application as a project runs it: results and progress are kept under ``name``."""

    name: str
    app: MonitoringApplication
    params: Mapping[str, Any]
    endpoints: frozenset[str] | None = None  # None: every endpoint

    def covers(self, uid: str) -> bool:
        return self.endpoints is None or uid in self.endpoints


@dataclass(frozen=True)
class ProjectPlan:
    project: str
    enabled: bool
    period_ms: int
    applications: tuple[PlannedApp, ...]


class MonitoringSettingsSource(Protocol):
    """Where per-project settings come from (``SqlMonitoringStore``)."""

    def projects(self) -> dict[str, ProjectMonitoring]: ...

    def applications(self, project: str) -> list[ApplicationConfig]: ...


def resolve(registry: Registry, reference: str) -> type[MonitoringApplication]:
    """The class behind a built-in (or registered) name, or a ``package.module:Class`` reference;
    ``ValueError`` saying why not."""
    found = registry.classes.get(reference)
    if found is not None:
        return found
    if ":" not in reference and "." not in reference:
        raise ValueError(f"unknown application {reference!r}; built-in and registered: {', '.join(registry.names())}")
    return load_application(reference)


def check_application(registry: Registry, reference: str, params: Mapping[str, Any]) -> MonitoringApplication:
    """Load, instantiate and check the parameters of an application, as the controller will run it."""
    resolve(registry, reference).check_params(params)
    return create_application(registry, reference)


def create_application(registry: Registry, reference: str) -> MonitoringApplication:
    """An instance of the application (its parameters were checked when it was set)."""
    cls = resolve(registry, reference)
    try:
        return cls()
    except Exception as error:  # a user class whose constructor fails is refused now, not at the next pass
        raise ValueError(f"application {reference!r} cannot be created: {type(error).__name__}: {error}") from None


class Planner:
    """Builds each project's plan for a pass. Application instances are kept between passes (one per
    project application and reference), as applications keep no per-window state."""

    def __init__(
        self,
        config: MonitoringConfig,
        registry: Registry,
        defaults: Sequence[MonitoringApplication],
        source: MonitoringSettingsSource | None = None,
    ) -> None:
        self.config = config
        self.registry = registry
        self.defaults = tuple(defaults)
        self.source = source
        self._instances: dict[tuple[str, str], MonitoringApplication] = {}
        self.errors: dict[tuple[str, str], str] = {}  # (project, app name) -> why it could not be loaded

    def default_plan(self, project: str) -> ProjectPlan:
        params = self.config.params_for(project)
        apps = tuple(PlannedApp(app.name, app, params) for app in self.defaults)
        return ProjectPlan(project, True, self.config.period_ms, apps)

    def plans(self, projects: Sequence[str]) -> list[ProjectPlan]:
        """Plans of the projects with endpoints and of the projects with their own settings."""
        self.errors.clear()
        own = self.source.projects() if self.source is not None else {}
        out: list[ProjectPlan] = []
        for project in sorted(set(projects) | set(own)):
            settings = own.get(project)
            if settings is None:
                out.append(self.default_plan(project))
                continue
            period_ms = int(settings.base_period_minutes * 60_000)
            apps = self._applications(project) if settings.enabled else ()
            out.append(ProjectPlan(project, settings.enabled, period_ms, apps))
        return out

    def _applications(self, project: str) -> tuple[PlannedApp, ...]:
        assert self.source is not None
        base = self.config.params_for(project)
        planned: list[PlannedApp] = []
        for config in self.source.applications(project):
            key = (project, config.name)
            try:
                app = self._instance(config)
            except ValueError as error:  # e.g. its package was uninstalled since it was set
                self.errors[key] = str(error)
                continue
            self.errors.pop(key, None)
            endpoints = None if config.endpoints is None else frozenset(config.endpoints)
            planned.append(PlannedApp(config.name, app, {**base, **config.params}, endpoints))
        return tuple(planned)

    def _instance(self, config: ApplicationConfig) -> MonitoringApplication:
        key = (config.project + "\x00" + config.name, config.application)
        app = self._instances.get(key)
        if app is None:
            app = self._instances[key] = create_application(self.registry, config.application)
        return app
