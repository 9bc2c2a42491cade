"""Training rows of an endpoint over HTTP: ``PUT /api/v1/projects/{project}/model-endpoints/{uid}/reference-rows``
with a Parquet file (write key). The rows (a uniform sample of at most 20,000) are kept next to the
endpoint's reference statistics for applications that compare rows, such as Evidently's reports: what
``grafana-proxy reference set --from-file`` keeps on the server's own disk, for clients elsewhere
(``Client.log_reference`` sends both).

pyarrow and pandas are loaded by the first upload, never by importing this module."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from grafana_proxy.api.schemas import NAME_PATTERN
from grafana_proxy.api.uploads import spooled_body
from grafana_proxy.auth import WritableProject
from grafana_proxy.deps import RuntimeDep
from grafana_proxy.errors import ApiError, json_response

router = APIRouter(prefix="/api/v1/projects/{project}/model-endpoints/{uid}", tags=["reference"])

Uid = Annotated[str, Path(min_length=1, max_length=64, pattern=NAME_PATTERN)]


def _keep(archive_url: str, project: str, uid: str, path: FilePath) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from grafana_proxy.archive.reference import write_reference

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        raise ApiError(400, f"the body is not a Parquet file: {error}", "invalid training rows") from None
    if table.num_rows == 0 or table.num_columns == 0:
        raise ApiError(400, "the Parquet file has no rows or no columns", "invalid training rows")
    frame = table.to_pandas()
    kept = write_reference(archive_url, project, uid, frame)
    return {"project": project, "endpoint_id": uid, "rows_kept": kept, "columns": [str(c) for c in frame.columns]}


@router.put(
    "/reference-rows",
    summary="Keep training rows of an endpoint (a sample of at most 20,000) for row-based applications",
    description="Body: a Parquet file (Content-Type application/vnd.apache.parquet or application/octet-stream) "
    "with the feature columns of the training set. Replaces the rows kept before.",
)
async def put_reference_rows(project: WritableProject, uid: Uid, request: Request, runtime: RuntimeDep) -> Response:
    stores, settings = runtime.stores, runtime.settings

    if await run_in_threadpool(stores.endpoints.get, project, uid) is None:
        raise ApiError(404, f"model endpoint {uid!r} not found in project {project!r}; create it with PUT first")
    path = await spooled_body(request, settings)
    try:
        answer = await run_in_threadpool(_keep, settings.archive_location, project, uid, path)
    finally:
        path.unlink(missing_ok=True)
    return json_response(answer)
