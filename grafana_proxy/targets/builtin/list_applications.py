"""``list_applications`` (search): monitoring applications that wrote results in a project, or for one
endpoint when ``endpoint_id`` is given (for an APPLICATION variable)."""

from __future__ import annotations

from grafana_proxy.targets.base import QueryContext, Target
from grafana_proxy.targets.builtin._common import get_record


def search(ctx: QueryContext) -> list[str]:
    project = ctx.project()
    uid = ctx.param("endpoint_id")
    if uid is not None:
        get_record(ctx, project, uid)
    return sorted(ctx.stores.results.applications(project, uid))


TARGETS: tuple[Target, ...] = (
    Target(
        name="list_applications",
        description="Monitoring applications with results in a project or for one endpoint.",
        params=("project", "endpoint_id"),
        search=search,
    ),
)
