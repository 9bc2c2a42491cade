"""``detections`` (annotations): application results with status potential_detection or detected in
the panel's range, one annotation per result spanning its inference window, so drift shows up on
every graph of a dashboard. The default annotation target."""

from __future__ import annotations

from grafana_proxy.model import EndpointFilter, ResultStatus
from grafana_proxy.targets.base import Annotation, QueryContext, Target
from grafana_proxy.targets.builtin._common import enum_name, summaries_for
from grafana_proxy.targets.params import parse_list


def detections(ctx: QueryContext) -> list[Annotation]:
    project = ctx.project()
    uids = parse_list(ctx.param("endpoint_id"))
    if uids:
        summaries_for(ctx, project, uids)  # 404 for an unknown endpoint
    results = ctx.stores.results.query(
        project,
        ctx.time_range,
        uids or None,
        ctx.param("application"),
        min_status=int(ResultStatus.potential_detection),
    )
    seen = tuple(dict.fromkeys(r.endpoint_uid for r in results))
    found = ctx.stores.endpoints.summaries(project, EndpointFilter(uids=seen)) if seen else []
    names = {s.uid: s.name for s in found}
    out: list[Annotation] = []
    for r in results:
        status = enum_name(ResultStatus, r.status) or str(r.status)
        endpoint = names.get(r.endpoint_uid) or r.endpoint_uid
        out.append(
            Annotation(
                time=r.start_infer_time,
                time_end=r.end_infer_time,
                title=f"{r.application}: {r.name} {status}",
                text=f"value {r.value:g} on endpoint {endpoint} ({r.endpoint_uid})",
                tags=[r.application, r.name, status, r.endpoint_uid],
            )
        )
    return out


TARGETS: tuple[Target, ...] = (
    Target(
        name="detections",
        description="Potential and detected drift/anomaly results as annotations.",
        params=("project", "endpoint_id", "application"),
        annotations=detections,
    ),
)
