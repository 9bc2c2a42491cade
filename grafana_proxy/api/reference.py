"""Training rows of an endpoint over HTTP: ``PUT /api/v1/projects/{project}/model-endpoints/{uid}/reference-rows``
with a Parquet file (write key). The rows (a uniform sample of at most 20,000) are kept next to the
endpoint's reference statistics for applications that compare rows, such as Evidently's reports: what
``grafana-proxy reference set --from-file`` keeps on the server's own disk, for clients elsewhere
(``Client.log_reference`` sends both).

The body is checked to be Parquet by its magic bytes, then staged for the ingest role (``api.uploads``),
which reads and samples it: the api role never loads pandas or pyarrow. 202 carries the status URL."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from grafana_proxy.api.schemas import NAME_PATTERN
from grafana_proxy.api.uploads import accepted, spooled_body, stage_upload
from grafana_proxy.auth import WritableProject
from grafana_proxy.batch.precheck import is_parquet
from grafana_proxy.deps import RuntimeDep
from grafana_proxy.errors import ApiError
from grafana_proxy.model import Upload, UploadKind

router = APIRouter(prefix="/api/v1/projects/{project}/model-endpoints/{uid}", tags=["reference"])

Uid = Annotated[str, Path(min_length=1, max_length=64, pattern=NAME_PATTERN)]


@router.put(
    "/reference-rows",
    summary="Keep training rows of an endpoint (a sample of at most 20,000) for row-based applications",
    description="Body: a Parquet file (Content-Type application/vnd.apache.parquet or application/octet-stream) "
    "with the feature columns of the training set. Replaces the rows kept before. Answers 202 with "
    "`status_url`: GET it until `status` is `done` (`result.rows_kept`) or `failed` (`message`).",
)
async def put_reference_rows(project: WritableProject, uid: Uid, request: Request, runtime: RuntimeDep) -> Response:
    stores, settings = runtime.stores, runtime.settings

    if await run_in_threadpool(stores.endpoints.get, project, uid) is None:
        raise ApiError(404, f"model endpoint {uid!r} not found in project {project!r}; create it with PUT first")
    path = await spooled_body(request, settings)

    def work() -> Upload:
        if not is_parquet(path):
            path.unlink(missing_ok=True)
            raise ApiError(
                400,
                "the body is not a Parquet file (no PAR1 magic bytes at its start and end)",
                "invalid training rows",
            )
        return stage_upload(settings, stores, path, UploadKind.reference_rows, project, uid, "parquet", {})

    return accepted(await run_in_threadpool(work))
