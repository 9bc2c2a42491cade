"""``detections`` (annotations): application results with status potential_detection or detected in
the panel's range, merged into regions: one annotation per detection episode (consecutive analysed
windows of one endpoint, application and result that detected something, without a gap), from the
start of its first window to the end of its last. A week of 1-minute windows would otherwise put
thousands of markers on every graph. The default annotation target."""

from __future__ import annotations

from collections.abc import Sequence

from grafana_proxy.model import AppResult, EndpointFilter, ResultStatus
from grafana_proxy.targets.base import Annotation, QueryContext, Target
from grafana_proxy.targets.builtin._common import enum_name, summaries_for
from grafana_proxy.targets.params import parse_list


def episodes(results: Sequence[AppResult]) -> list[list[AppResult]]:
    """Detections grouped per (endpoint, application, result) and split where windows leave a gap."""
    groups: dict[tuple[str, str, str], list[AppResult]] = {}
    for r in sorted(results, key=lambda r: r.start_infer_time):
        groups.setdefault((r.endpoint_uid, r.application, r.name), []).append(r)
    out: list[list[AppResult]] = []
    for records in groups.values():
        current, end = [records[0]], records[0].end_infer_time
        for r in records[1:]:
            if r.start_infer_time > end:  # a window without detection lies between: a new episode
                out.append(current)
                current = []
            current.append(r)
            end = max(end, r.end_infer_time)
        out.append(current)
    out.sort(key=lambda e: e[0].start_infer_time)
    return out


def _annotation(episode: list[AppResult], endpoint: str) -> Annotation:
    first = episode[0]
    worst = max(r.status for r in episode)
    status = enum_name(ResultStatus, worst) or str(worst)
    peak = max(r.value for r in episode)
    windows = f"{len(episode)} window" + ("s" if len(episode) > 1 else "")
    return Annotation(
        time=first.start_infer_time,
        time_end=max(r.end_infer_time for r in episode),
        title=f"{first.application}: {first.name} {status}",
        text=f"{windows}, peak value {peak:g}, on endpoint {endpoint} ({first.endpoint_uid})",
        tags=[first.application, first.name, status, first.endpoint_uid],
    )


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
    return [_annotation(e, names.get(e[0].endpoint_uid) or e[0].endpoint_uid) for e in episodes(results)]


TARGETS: tuple[Target, ...] = (
    Target(
        name="detections",
        description="Potential and detected drift/anomaly results as annotations.",
        params=("project", "endpoint_id", "application"),
        annotations=detections,
    ),
)
