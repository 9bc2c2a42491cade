"""Per-project monitoring under ``/api/v1/projects/{project}/monitoring``: enable with a base period,
disable, and set / list / remove the project's monitoring applications. The global settings are the
defaults of a project that has none of its own. Writes need a write key, reads a read key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from grafana_proxy.api.schemas import NAME_PATTERN, JsonObject
from grafana_proxy.auth import ReadableProject, WritableProject
from grafana_proxy.deps import RuntimeDep
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


@router.put("", summary="Enable (or change) monitoring of the project")
async def put_monitoring(project: WritableProject, body: MonitoringIn, runtime: RuntimeDep) -> Response:
    stores, settings = runtime.stores, runtime.settings

    def write() -> dict[str, Any]:
        store = stores.monitoring
        current = store.project(project)
        period = body.base_period_minutes
        if period is None:
            period = current.base_period_minutes if current else settings.monitoring_base_period_minutes
        own = ProjectMonitoring(project, body.enabled, period, runtime.clock())
        store.put_project(own, default_applications(project, settings))
        return project_view(project, own, settings)

    return json_response(await run_in_threadpool(write))


@router.get("", summary="The project's monitoring settings (the global ones when it has none)")
async def get_monitoring(project: ReadableProject, runtime: RuntimeDep) -> Response:
    stores, settings = runtime.stores, runtime.settings
    own = await run_in_threadpool(stores.monitoring.project, project)
    return json_response(project_view(project, own, settings))


@router.delete("", summary="Disable monitoring of the project (its data is kept)")
async def delete_monitoring(project: WritableProject, runtime: RuntimeDep) -> Response:
    stores, settings = runtime.stores, runtime.settings

    def write() -> dict[str, Any]:
        store = stores.monitoring
        current = ensure_project(store, project, settings)
        own = ProjectMonitoring(project, False, current.base_period_minutes, runtime.clock())
        store.put_project(own)
        return project_view(project, own, settings)

    return json_response(await run_in_threadpool(write))


@router.put("/applications/{name}", summary="Set a monitoring application of the project")
async def put_application(
    project: WritableProject,
    name: AppName,
    body: ApplicationIn,
    runtime: RuntimeDep,
) -> Response:
    stores, settings = runtime.stores, runtime.settings
    registry = runtime.applications
    try:
        # Importing a user's module runs its code: off the event loop.
        await run_in_threadpool(check_application, registry, body.application, body.params)
    except ValueError as error:
        raise ApiError(422, str(error), "invalid application") from None
    config = ApplicationConfig(project, name, body.application, body.params, _uids(body.endpoints), runtime.clock())

    def write() -> dict[str, Any]:
        store = stores.monitoring
        ensure_project(store, project, settings)
        store.put_application(config)
        return application_view(config, store.statuses(project).get(name), True)

    return json_response(await run_in_threadpool(write))


@router.get("/applications", summary="The project's applications with their last run, last error and counts")
async def list_applications(project: ReadableProject, runtime: RuntimeDep) -> Response:
    stores, settings = runtime.stores, runtime.settings

    def read() -> list[dict[str, Any]]:
        return applications_view(stores.monitoring, project, settings)

    return json_response(await run_in_threadpool(read))


@router.get("/applications/{name}", summary="One application of the project")
async def get_application(project: ReadableProject, name: AppName, runtime: RuntimeDep) -> Response:
    stores, settings = runtime.stores, runtime.settings

    def read() -> dict[str, Any]:
        store = stores.monitoring
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
async def delete_application(project: WritableProject, name: AppName, runtime: RuntimeDep) -> Response:
    stores, settings = runtime.stores, runtime.settings

    def write() -> dict[str, Any]:
        store = stores.monitoring
        ensure_project(store, project, settings)
        if not store.delete_application(project, name):
            raise ApiError(404, f"monitoring application {name!r} is not set on project {project!r}")
        return {"deleted": name}

    return json_response(await run_in_threadpool(write))
