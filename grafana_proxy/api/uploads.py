"""Large request bodies (batch files, training rows) and what becomes of them.

The body is written to a file under the data directory as it arrives (bounded by ``batch_max_bytes``, the
body limit of the paths in ``middleware.LARGE_UPLOAD_SUFFIXES``, and disk, never by memory), checked as
far as that is cheap, then moved to the archive storage (``archive.staging``) with a pending row in the
uploads table. The ingest role reads it there with pyarrow and records the outcome; the api role never
loads pandas, pyarrow or scipy. The answer is 202 with the upload's status URL:
``GET /api/v1/projects/{project}/uploads/{upload_id}`` says pending, running, done (with what was stored)
or failed (with the one-line reason)."""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from grafana_proxy.archive.staging import remove_staged, stage, staged_path
from grafana_proxy.auth import ReadableProject
from grafana_proxy.clock import now_ms
from grafana_proxy.deps import RuntimeDep
from grafana_proxy.errors import ApiError, json_response
from grafana_proxy.model import Upload, UploadKind, UploadStatus
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores

router = APIRouter(prefix="/api/v1/projects/{project}", tags=["uploads"])

MAX_WAIT_SECONDS = 30.0
_POLL_SECONDS = 0.2
# The ``error`` of a failed upload, per kind: what a 400 of the same check would have said.
FAILURE = {UploadKind.batch: "invalid batch", UploadKind.reference_rows: "invalid training rows"}


def upload_dir(settings: Settings) -> Path:
    directory = settings.data_dir / "batches"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


async def spooled_body(request: Request, settings: Settings) -> Path:
    """The request body in a temporary file, written as it arrives (bounded memory); the caller deletes it."""
    handle = tempfile.NamedTemporaryFile(dir=upload_dir(settings), prefix=".upload-", delete=False)
    path = Path(handle.name)
    try:
        with handle:
            async for part in request.stream():
                handle.write(part)
    except BaseException:  # the client went away or the body was too large: leave nothing behind
        path.unlink(missing_ok=True)
        raise
    return path


def stage_upload(
    settings: Settings,
    stores: Stores,
    path: Path,
    kind: UploadKind,
    project: str,
    uid: str,
    fmt: str,
    params: dict[str, Any],
) -> Upload:
    """Move the checked body into the archive storage and queue it for the ingest role (blocking)."""
    upload_id = uuid.uuid4().hex
    relative = staged_path(project, upload_id, fmt)
    size = path.stat().st_size
    try:
        stage(settings.archive_location, path, relative)
    finally:
        path.unlink(missing_ok=True)
    upload = Upload(upload_id, project, uid, kind, fmt, relative, size, params, now_ms())
    try:
        stores.uploads.add(upload)
    except BaseException:  # not queued: nothing will ever read the staged file
        remove_staged(settings.archive_location, relative)
        raise
    return upload


def status_url(upload: Upload) -> str:
    return f"/api/v1/projects/{upload.project}/uploads/{upload.upload_id}"


def upload_view(upload: Upload) -> dict[str, Any]:
    view: dict[str, Any] = {
        "upload_id": upload.upload_id,
        "kind": upload.kind.value,
        "project": upload.project,
        "endpoint_id": upload.endpoint_uid,
        "status": upload.status.value,
        "status_url": status_url(upload),
        "size": upload.size,
        "created_at": upload.created_at,
        "finished_at": upload.finished_at,
    }
    if upload.kind is UploadKind.batch:
        view["batch_id"] = upload.params.get("batch_id")
    if upload.status is UploadStatus.done:
        view["result"] = upload.result
    elif upload.status is UploadStatus.failed:
        view["message"], view["error"] = upload.error, FAILURE[upload.kind]
    return view


def accepted(upload: Upload) -> Response:
    """202: the file is staged and queued; the status URL tells when its rows are stored."""
    return json_response(upload_view(upload), status=202, headers={"Location": status_url(upload)})


@router.get(
    "/uploads/{upload_id}",
    summary="What became of an uploaded batch or training rows: pending, running, done or failed",
    description="`wait` (seconds, at most 30) holds the answer until the upload is done or failed, or the "
    "time is up, so a client can follow an upload without polling fast.",
)
async def get_upload(
    project: ReadableProject,
    upload_id: Annotated[str, PathParam(min_length=1, max_length=32)],
    runtime: RuntimeDep,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS)] = 0.0,
) -> Response:
    deadline = time.monotonic() + wait
    while True:
        found = await run_in_threadpool(runtime.stores.uploads.get, project, upload_id)
        if found is None:
            raise ApiError(404, f"upload {upload_id!r} not found in project {project!r}")
        finished = found.status in (UploadStatus.done, UploadStatus.failed)
        if finished or time.monotonic() >= deadline:
            return json_response(upload_view(found))
        await asyncio.sleep(_POLL_SECONDS)
