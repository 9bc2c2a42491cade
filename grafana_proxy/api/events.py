"""``POST /api/v1/projects/{project}/events``: inference events in, 2xx only once the batch is durable.

Batches go to the runtime's event sink: in the api role, this process's inbox, which the ingest role
folds (``grafana_proxy.ingest.inbox``), or the JetStream stream (``grafana_proxy.stream.publisher``)."""

from __future__ import annotations

import asyncio
import errno
import weakref
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from grafana_proxy.auth import WritableProject
from grafana_proxy.deps import RuntimeDep
from grafana_proxy.errors import ApiError, json_response
from grafana_proxy.ingest.events import InvalidEvent, check_batch, request_ids
from grafana_proxy.ingest.inbox import EventSink, batch_id_of
from grafana_proxy.stream.errors import EventTooLarge, StreamUnavailable

router = APIRouter(prefix="/api/v1/projects/{project}", tags=["ingest"])

# One batch check at a time per process. Checks are pure Python, so several in parallel threads only take
# turns on the GIL with each other and with the event loop: a panel query then waits for several of them
# instead of one. Queued batches wait on the semaphore without holding the GIL; fsync, which releases
# it, stays outside. One semaphore per event loop (test servers run one loop each).
_CHECK_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _check_gate() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    gate = _CHECK_GATES.get(loop)
    if gate is None:
        gate = _CHECK_GATES[loop] = asyncio.Semaphore(1)
    return gate


async def get_sink(runtime: RuntimeDep) -> EventSink:
    if runtime.events is None:
        raise ApiError(503, "event ingest is not running in this process", "ingest unavailable")
    return runtime.events


SinkDep = Annotated[EventSink, Depends(get_sink)]


def spool_error(where: object, exc: OSError) -> ApiError:
    """The spool could not take the batch (nothing of it is kept): 507 when the disk is full, else 503."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ApiError(507, f"no space left for the event spool in {where}: free disk space, then retry", "disk full")
    reason = exc.strerror or type(exc).__name__
    return ApiError(503, f"cannot write the event spool in {where} ({reason}): fix the data directory, then retry")


def _checked(project: str, body: bytes, max_events: int) -> tuple[int, str]:
    """The number of events in a valid body and the batch's id (project and request ids, so a re-sent
    batch has the same); raises ``InvalidEvent`` naming the first bad event."""
    try:
        payload: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"body is not valid JSON: {exc}", "invalid JSON") from None
    count = check_batch(project, payload, max_events)
    return count, batch_id_of(project, request_ids(payload))


@router.post(
    "/events",
    summary="Record a batch of inference events",
    description='A JSON list of events (or {"events": [...]}). Each needs endpoint_id (or function_uri and '
    "model), timestamp, request_id; optional inputs (feature vectors or named features), feature_names, "
    "outputs, latency (microseconds), error, model_class, labels. The whole batch is refused (400) if one "
    "event is malformed. 202 means the batch is durable; re-sending the same request_ids is harmless.",
    status_code=202,
)
async def post_events(project: WritableProject, request: Request, runtime: RuntimeDep, sink: SinkDep) -> Response:
    body = await request.body()
    # Parsing and checking a 1,000-event batch is milliseconds of CPU: in the thread pool, so the event
    # loop keeps answering panel queries meanwhile instead of queueing them behind the batch.
    try:
        async with _check_gate():
            accepted, batch_id = await run_in_threadpool(
                _checked, project, body, runtime.ingest.ingest_max_batch_events
            )
    except InvalidEvent as exc:
        return json_response(
            {
                "message": str(exc),
                "error": "invalid event",
                "index": exc.index,
                "field": exc.field,
            },
            400,
        )
    # fsync (or JetStream's acknowledgement) is blocking: keep it off the event loop. Concurrent requests
    # share one fsync (group commit), and the batch is kept as the bytes the client sent: the pipeline
    # normalises it when it folds it.
    try:
        if accepted:
            await run_in_threadpool(sink.submit_raw, project, body, accepted, batch_id)
    except OSError as exc:
        raise spool_error(runtime.ingest.spool_dir, exc) from None
    except StreamUnavailable as exc:
        raise ApiError(503, str(exc), "stream unavailable") from None
    except EventTooLarge as exc:
        raise ApiError(413, str(exc), "event too large") from None
    return json_response({"accepted": accepted, "durable": True}, 202)
