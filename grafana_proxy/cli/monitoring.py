"""``grafana-proxy monitoring enable|disable|show`` and ``monitoring apps set|list|remove``: a project's
monitoring settings, straight in the database (like ``keys``). Wiring in main.py::

app.add_typer(monitoring.app, name="monitoring")
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from grafana_proxy.cli.common import fail, load_settings, opened_stores, out
from grafana_proxy.clock import now_ms
from grafana_proxy.model import ApplicationConfig, ProjectMonitoring
from grafana_proxy.monitoring.project_settings import (
    applications_view,
    default_applications,
    ensure_project,
    project_view,
)
from grafana_proxy.monitoring.projects import MIN_BASE_PERIOD_MINUTES, check_application

app = typer.Typer(help="Per-project monitoring: base period and applications.", no_args_is_help=True)
apps_app = typer.Typer(help="A project's monitoring applications.", no_args_is_help=True)
app.add_typer(apps_app, name="apps")

Project = Annotated[str, typer.Option("--project", "-p", help="Project name.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("enable")
def enable(
    project: Project,
    base_period: Annotated[
        float | None,
        typer.Option("--base-period", help=f"Minutes between analyses (at least {MIN_BASE_PERIOD_MINUTES:g})."),
    ] = None,
) -> None:
    """Enable monitoring of a project (or change its base period, from the next window on)."""
    if base_period is not None and base_period < MIN_BASE_PERIOD_MINUTES:
        raise fail(f"--base-period must be at least {MIN_BASE_PERIOD_MINUTES:g} minute")
    settings = load_settings()
    with opened_stores(settings) as stores:
        store = stores.monitoring
        current = store.project(project)
        period = base_period or (current.base_period_minutes if current else settings.monitoring_base_period_minutes)
        store.put_project(ProjectMonitoring(project, True, period, now_ms()), default_applications(project, settings))
    out.print(f"monitoring of {project}: enabled, every {period:g} min")


@app.command("disable")
def disable(project: Project) -> None:
    """Stop analysing a project; its data and settings are kept."""
    settings = load_settings()
    with opened_stores(settings) as stores:
        store = stores.monitoring
        current = ensure_project(store, project, settings)
        store.put_project(ProjectMonitoring(project, False, current.base_period_minutes, now_ms()))
    out.print(f"monitoring of {project}: disabled")


@app.command("show")
def show(project: Project, as_json: AsJson = False) -> None:
    """A project's monitoring settings and applications (the global ones if it has none)."""
    settings = load_settings()
    with opened_stores(settings) as stores:
        store = stores.monitoring
        view = project_view(project, store.project(project), settings)
        view["applications"] = applications_view(store, project, settings)
    if as_json:
        out.print_json(json.dumps(view))
        return
    state = "enabled" if view["enabled"] else "disabled"
    origin = "" if view["configured"] else " (global settings)"
    out.print(f"{project}: {state}, every {view['base_period_minutes']:g} min{origin}")
    _print_apps(view["applications"])


def _print_apps(apps: list[dict[str, Any]]) -> None:
    for item in apps:
        endpoints = "all endpoints" if item["endpoints"] is None else ", ".join(item["endpoints"])
        counts = item["counts"]
        out.print(
            f"  {item['name']}: {item['application']} on {endpoints}; params {json.dumps(item['params'])}; "
            f"windows {counts['windows']}, results {counts['results']}, errors {counts['errors']}"
            + (f"; last error: {item['last_error']}" if item["last_error"] else "")
        )


def _params(pairs: list[str], as_json: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if as_json:
        try:
            loaded = json.loads(as_json)
        except json.JSONDecodeError as error:
            raise fail(f"--params is not valid JSON: {error}") from None
        if not isinstance(loaded, dict):
            raise fail('--params must be a JSON object, e.g. {"drift_detected": 0.6}')
        params.update(loaded)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise fail(f"--param {pair!r}: expected name=value")
        try:
            params[key] = json.loads(raw)  # numbers, booleans, lists stay typed
        except json.JSONDecodeError:
            params[key] = raw
    return params


@apps_app.command("set")
def apps_set(
    name: Annotated[str, typer.Argument(help="Name the results are written under.")],
    project: Project,
    application: Annotated[
        str | None,
        typer.Option("--application", "-a", help="Built-in name or package.module:Class (default: NAME)."),
    ] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="name=value (JSON value); repeatable.")] = None,
    params_json: Annotated[str | None, typer.Option("--params", help="All parameters as a JSON object.")] = None,
    endpoint: Annotated[list[str] | None, typer.Option("--endpoint", "-e", help="Endpoint uid; repeatable.")] = None,
) -> None:
    """Set (add or replace) a monitoring application of a project; it is checked now."""
    from grafana_proxy.monitoring.registry import discover

    settings = load_settings()
    reference = application or name
    params = _params(param or [], params_json)
    try:
        check_application(discover(settings.monitoring_application_paths), reference, params)
    except ValueError as error:
        raise fail(str(error)) from None
    endpoints = tuple(dict.fromkeys(endpoint)) if endpoint else None
    with opened_stores(settings) as stores:
        store = stores.monitoring
        ensure_project(store, project, settings)
        store.put_application(ApplicationConfig(project, name, reference, params, endpoints, now_ms()))
    out.print(f"{project}: application {name} = {reference}")


@apps_app.command("list")
def apps_list(project: Project, as_json: AsJson = False) -> None:
    """A project's applications with their last run, last error and counts."""
    settings = load_settings()
    with opened_stores(settings) as stores:
        apps = applications_view(stores.monitoring, project, settings)
    if as_json:
        out.print_json(json.dumps(apps))
        return
    _print_apps(apps)


@apps_app.command("remove")
def apps_remove(name: Annotated[str, typer.Argument(help="Application name.")], project: Project) -> None:
    """Remove an application from a project (its results are kept)."""
    settings = load_settings()
    with opened_stores(settings) as stores:
        store = stores.monitoring
        ensure_project(store, project, settings)
        if not store.delete_application(project, name):
            raise fail(f"application {name!r} is not set on project {project!r}; see: monitoring apps list")
    out.print(f"{project}: application {name} removed")
