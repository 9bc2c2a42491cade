"""``list_artifacts`` (query): the files monitoring applications kept for the windows that ended in the
time range (Evidently reports, JSON documents, plots), newest first, one row each. ``link`` is the
artifact's path relative to the datasource URL, so a Grafana data link
``/api/datasources/proxy/uid/<datasource uid>/${__data.fields.link}`` opens it through Grafana's data
proxy with the datasource's key; ``url`` is the api's stable URL for clients that send the key."""

from __future__ import annotations

from grafana_proxy.model import Artifact
from grafana_proxy.targets.base import Cell, Column, Frame, QueryContext, Table, Target
from grafana_proxy.targets.builtin._common import summaries_for
from grafana_proxy.targets.params import parse_list

COLUMNS: tuple[Column, ...] = (
    Column("time", "time"),
    Column("endpoint_id", "string"),
    Column("application", "string"),
    Column("name", "string"),
    Column("content_type", "string"),
    Column("size", "number"),
    Column("artifact_id", "string"),
    Column("link", "string"),
    Column("url", "string"),
    Column("start_infer_time", "time"),
)


def _row(a: Artifact) -> list[Cell]:
    return [
        a.end_infer_time,
        a.endpoint_uid,
        a.application,
        a.name,
        a.content_type,
        a.size,
        a.artifact_id,
        f"artifacts/{a.project}/{a.endpoint_uid}/{a.artifact_id}",
        f"/api/v1/projects/{a.project}/model-endpoints/{a.endpoint_uid}/artifacts/{a.artifact_id}",
        a.start_infer_time,
    ]


def query(ctx: QueryContext) -> list[Frame]:

    project = ctx.project()
    uids = parse_list(ctx.param("endpoint_id"))
    if uids:
        summaries_for(ctx, project, uids)  # 404 for an unknown endpoint
    names = parse_list(ctx.param("name"))
    found = ctx.stores.artifacts.query(project, ctx.time_range, uids or None, ctx.param("application"), names or None)
    return [Table(columns=COLUMNS, rows=[_row(a) for a in found])]


TARGETS: tuple[Target, ...] = (
    Target(
        name="list_artifacts",
        description="Files kept by monitoring applications (reports, documents, plots) with links to open them.",
        params=("project", "endpoint_id", "application", "name"),
        query=query,
    ),
)
