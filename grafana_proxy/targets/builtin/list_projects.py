"""``list_projects`` (search): the projects that have endpoints, limited to what the caller's key may
read. MLRun returned every project regardless of permissions; listing only visible ones is deliberate."""

from __future__ import annotations

from grafana_proxy.targets.base import QueryContext, Target


def search(ctx: QueryContext) -> list[str]:
    return ctx.access.visible(ctx.stores.endpoints.projects())


TARGETS: tuple[Target, ...] = (
    Target(
        name="list_projects",
        description="Projects with model endpoints that the access key may read.",
        params=(),
        search=search,
    ),
)
