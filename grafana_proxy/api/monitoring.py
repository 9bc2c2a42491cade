"""Per-project monitoring under ``/api/v1/projects/{project}/monitoring``: enable with a base period,
disable, and set / list / remove the project's monitoring applications. The global settings are the
defaults of a project that has none of its own. Writes need a write key, reads a read key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from grafana_proxy.api.schemas import NAME_PATTERN, JsonObject
from grafana_proxy.auth import ReadableProject, WritableProject
from grafana_proxy.deps import SettingsDep, StoresDep
from grafana_proxy.errors import ApiError, json_response
from grafana_proxy.model import ApplicationConfig, ProjectMonitoring
from grafana_proxy.monitoring.project_settings import (
    application_view,
    applications_view,
    default_applications,
    ensure_project,
    project_view,
)
from grafana_proxy.monitoring.projects import MIN_BASE_PERIOD_MINUTES, check_application
from grafana_proxy.monitoring.registry import Registry, discover
from grafana_proxy.protocol.timerange import now_ms
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from grafana_proxy.stores.monitoring import SqlMonitoringStore, monitoring_config_store

router = APIRouter(prefix="/api/v1/projects/{project}/monitoring", tags=["monitoring"])

AppName = Annotated[str, Path(min_length=1, max_length=128, pattern=NAME_PATTERN)]
EndpointUid = Annotated[str, Field(min_length=1, max_length=64, pattern=NAME_PATTERN)]


class MonitoringIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    base_period_minutes: Annotated[float, Field(ge=MIN_BASE_PERIOD_MINUTES, le=7 * 24 * 60)] | None = Field(
        default=None, description="How often the project's windows are analysed; default: the global setting."
    )


class ApplicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application: Annotated[str, Field(min_length=1, max_length=255)] = Field(
        description="A built-in application name (e.g. histogram-data-drift) or 'package.module:Class'."
    )
    params: JsonObject = Field(default_factory=dict)
    endpoints: list[EndpointUid] | None = Field(default=None, description="Endpoint uids; null: every endpoint.")


def _uids(endpoints: list[str] | None) -> tuple[str, ...] | None:
    return None if endpoints is None else tuple(dict.fromkeys(endpoints))


def _store(stores: Stores) -> SqlMonitoringStore:
    return monitoring_config_store(stores)


def _registry(request: Request, settings: Settings) -> Registry:
    """Built-ins, entry points and configured paths, loaded once per app (on first use, off the import path)."""
    registry: Registry | None = getattr(request.app.state, "monitoring_registry", None)
    if registry is None:
        registry = request.app.state.monitoring_registry = discover(settings.monitoring_application_paths)
    return registry


@router.put("", summary="Enable (or change) monitoring of the project")
async def put_monitoring(
    project: WritableProject, body: MonitoringIn, stores: StoresDep, settings: SettingsDep
) -> Response:
    def write() -> dict[str, Any]:
        store = _store(stores)
        current = store.project(project)
        period = body.base_period_minutes
        if period is None:
            period = current.base_period_minutes if current else settings.monitoring_base_period_minutes
        own = ProjectMonitoring(project, body.enabled, period, now_ms())
        store.put_project(own, default_applications(project, settings))
        return project_view(project, own, settings)

    return json_response(await run_in_threadpool(write))


@router.get("", summary="The project's monitoring settings (the global ones when it has none)")
async def get_monitoring(project: ReadableProject, stores: StoresDep, settings: SettingsDep) -> Response:
    own = await run_in_threadpool(_store(stores).project, project)
    return json_response(project_view(project, own, settings))


@router.delete("", summary="Disable monitoring of the project (its data is kept)")
async def delete_monitoring(project: WritableProject, stores: StoresDep, settings: SettingsDep) -> Response:
    def write() -> dict[str, Any]:
        store = _store(stores)
        current = ensure_project(store, project, settings)
        own = ProjectMonitoring(project, False, current.base_period_minutes, now_ms())
        store.put_project(own)
        return project_view(project, own, settings)

    return json_response(await run_in_threadpool(write))


@router.put("/applications/{name}", summary="Set a monitoring application of the project")
async def put_application(
    project: WritableProject,
    name: AppName,
    body: ApplicationIn,
    request: Request,
    stores: StoresDep,
    settings: SettingsDep,
) -> Response:
    registry = _registry(request, settings)
    try:
        # Importing a user's module runs its code: off the event loop.
        await run_in_threadpool(check_application, registry, body.application, body.params)
    except ValueError as error:
        raise ApiError(422, str(error), "invalid application") from None
    config = ApplicationConfig(project, name, body.application, body.params, _uids(body.endpoints), now_ms())

    def write() -> dict[str, Any]:
        store = _store(stores)
        ensure_project(store, project, settings)
        store.put_application(config)
        return application_view(config, store.statuses(project).get(name), True)

    return json_response(await run_in_threadpool(write))


@router.get("/applications", summary="The project's applications with their last run, last error and counts")
async def list_applications(project: ReadableProject, stores: StoresDep, settings: SettingsDep) -> Response:
    def read() -> list[dict[str, Any]]:
        return applications_view(_store(stores), project, settings)

    return json_response(await run_in_threadpool(read))


@router.get("/applications/{name}", summary="One application of the project")
async def get_application(
    project: ReadableProject, name: AppName, stores: StoresDep, settings: SettingsDep
) -> Response:
    def read() -> dict[str, Any]:
        store = _store(stores)
        if store.project(project) is None:
            found = next((c for c in default_applications(project, settings) if c.name == name), None)
            configured = False
        else:
            found, configured = store.application(project, name), True
        if found is None:
            raise ApiError(404, f"monitoring application {name!r} is not set on project {project!r}")
        return application_view(found, store.statuses(project).get(name), configured)

    return json_response(await run_in_threadpool(read))


@router.delete("/applications/{name}", summary="Remove an application from the project (its results are kept)")
async def delete_application(
    project: WritableProject, name: AppName, stores: StoresDep, settings: SettingsDep
) -> Response:
    def write() -> dict[str, Any]:
        store = _store(stores)
        ensure_project(store, project, settings)
        if not store.delete_application(project, name):
            raise ApiError(404, f"monitoring application {name!r} is not set on project {project!r}")
        return {"deleted": name}

    return json_response(await run_in_threadpool(write))
