"""Artifacts of monitoring applications, read with a read key.

Two stable URLs answer the same file:
- ``GET /api/v1/projects/{project}/model-endpoints/{uid}/artifacts/{artifact_id}`` (and the list without
  the id), for scripts and browsers that can send the key header;
- ``GET <datasource prefix>/artifacts/{project}/{uid}/{artifact_id}``, for Grafana's data links: a link to
  ``/api/datasources/proxy/uid/<datasource uid>/artifacts/...`` goes through Grafana's data proxy, which
  adds the datasource's key header, so a user never handles the key.

A report is HTML with scripts (Evidently's is); served under Grafana's origin through the data proxy it
could read Grafana's session. ``Content-Security-Policy: sandbox allow-scripts`` runs it in an opaque
origin: its charts work, Grafana's cookies and storage stay out of reach."""

from __future__ import annotations

import gzip
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from grafana_proxy.api.schemas import NAME_PATTERN
from grafana_proxy.archive.artifacts import ArtifactKeeper
from grafana_proxy.auth import ReadableProject
from grafana_proxy.deps import RuntimeDep
from grafana_proxy.errors import ApiError, json_response
from grafana_proxy.model import Artifact

router = APIRouter(prefix="/api/v1/projects/{project}/model-endpoints/{uid}/artifacts", tags=["artifacts"])
datasource_router = APIRouter(tags=["artifacts"])

Uid = Annotated[str, Path(min_length=1, max_length=64, pattern=NAME_PATTERN)]
ArtifactId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The id listed by list_artifacts.")]


async def keeper(runtime: RuntimeDep) -> ArtifactKeeper:
    """The runtime's keeper (built on first use: the archive storage is opened then). Async: no
    thread-pool hop for an attribute read."""
    return runtime.artifacts


KeeperDep = Annotated[ArtifactKeeper, Depends(keeper)]


def describe(artifact: Artifact) -> dict[str, object]:
    return {
        "id": artifact.artifact_id,
        "endpoint_id": artifact.endpoint_uid,
        "application": artifact.application,
        "name": artifact.name,
        "start_infer_time": artifact.start_infer_time,
        "end_infer_time": artifact.end_infer_time,
        "content_type": artifact.content_type,
        "size": artifact.size,
        "url": artifact_url(artifact),
    }


def artifact_url(artifact: Artifact) -> str:
    return (
        f"/api/v1/projects/{artifact.project}/model-endpoints/{artifact.endpoint_uid}/artifacts/{artifact.artifact_id}"
    )


async def _serve(keep: ArtifactKeeper, project: str, uid: str, artifact_id: str, accept_encoding: str) -> Response:
    def load() -> tuple[Artifact | None, tuple[bytes, str | None] | None]:
        artifact = keep.store.get(project, uid, artifact_id)
        return artifact, None if artifact is None else keep.read_stored(artifact)

    artifact, stored = await run_in_threadpool(load)
    if artifact is None or stored is None:
        raise ApiError(404, f"artifact {artifact_id!r} not found for endpoint {uid!r} of project {project!r}")
    content, encoding = stored
    headers = {
        "Content-Security-Policy": "sandbox allow-scripts allow-popups",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'inline; filename="{artifact.name}"',
        "Cache-Control": "private, max-age=300",
        "Vary": "Accept-Encoding",
    }
    if encoding == "gzip":
        if "gzip" in accept_encoding.lower():  # every browser: the stored bytes go out as they are
            headers["Content-Encoding"] = "gzip"
        else:
            content = await run_in_threadpool(gzip.decompress, content)
    return Response(content, media_type=artifact.content_type, headers=headers)


@router.get("", summary="Artifacts of one endpoint (newest window first)")
async def list_artifacts(project: ReadableProject, uid: Uid, keep: KeeperDep) -> Response:
    found = await run_in_threadpool(keep.store.query, project, None, [uid])
    return json_response([describe(a) for a in found])


@router.get("/{artifact_id}", summary="One artifact's file (a report, a document, a plot)")
async def get_artifact(
    project: ReadableProject, uid: Uid, artifact_id: ArtifactId, keep: KeeperDep, request: Request
) -> Response:
    return await _serve(keep, project, uid, artifact_id, request.headers.get("accept-encoding", ""))


@datasource_router.get("/artifacts/{project}/{uid}/{artifact_id}", summary="One artifact, for Grafana data links")
async def get_artifact_via_datasource(
    project: ReadableProject, uid: Uid, artifact_id: ArtifactId, keep: KeeperDep, request: Request
) -> Response:
    return await _serve(keep, project, uid, artifact_id, request.headers.get("accept-encoding", ""))
