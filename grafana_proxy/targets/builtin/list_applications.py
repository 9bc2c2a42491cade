"""``list_applications`` (search): monitoring applications set on a project (those covering the endpoint
when ``endpoint_id`` is given) and those that wrote results there, for an APPLICATION variable."""

from __future__ import annotations

from grafana_proxy.targets.base import QueryContext, Target
from grafana_proxy.targets.builtin._common import get_record


def search(ctx: QueryContext) -> list[str]:
    project = ctx.project()
    uid = ctx.param("endpoint_id")
    if uid is not None:
        get_record(ctx, project, uid)
    names = set(ctx.stores.results.applications(project, uid))
    store = ctx.stores.monitoring
    if store.project(project) is not None:
        configured = store.applications(project)
        names.update(c.name for c in configured if uid is None or c.endpoints is None or uid in c.endpoints)
    return sorted(names)


TARGETS: tuple[Target, ...] = (
    Target(
        name="list_applications",
        description="Monitoring applications with results in a project or for one endpoint.",
        params=("project", "endpoint_id"),
        search=search,
    ),
)
