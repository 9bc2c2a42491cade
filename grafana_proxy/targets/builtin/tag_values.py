"""``tag_values``: the values Grafana's ad hoc filters offer for one key, across the projects the
caller may read (served by SimpleJSON's /tag-values)."""

from __future__ import annotations

from collections.abc import Callable

from grafana_proxy.model import EndpointSummary
from grafana_proxy.targets.base import QueryContext, Target, TargetError

_COLUMNS: dict[str, Callable[[EndpointSummary], str]] = {
    "endpoint_id": lambda s: s.uid,
    "model": lambda s: s.model,
    "function": lambda s: s.function_uri,
}
MAX_VALUES = 1000


def search(ctx: QueryContext) -> list[str]:
    key = ctx.require("key")
    projects = ctx.access.visible(ctx.stores.endpoints.projects())
    if key == "project":
        return projects
    read = _COLUMNS.get(key)
    if read is None:
        raise TargetError(f"unknown tag key {key!r}; supported keys: project, {', '.join(_COLUMNS)}")
    values: set[str] = set()
    for project in projects:
        values.update(read(summary) for summary in ctx.stores.endpoints.summaries(project))
        if len(values) >= MAX_VALUES:
            break
    return sorted(v for v in values if v)[:MAX_VALUES]


TARGETS = (
    Target(
        name="tag_values",
        description="Values of an ad hoc filter key (project, endpoint_id, model, function).",
        params=("key",),
        search=search,
    ),
)
