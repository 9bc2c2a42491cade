"""Recording gateway calls off the request path.

A call is put on a bounded in-memory queue (no parsing, no I/O on the request path); a background task drains
it in batches, turns calls into events and hands them to the durable spool, then writes the audit-table rows.
When the queue is full the call is spooled synchronously instead — slower for that request, never lost; if
the sink refuses it then too (the event stream down), the request waits for room in the queue."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from grafana_proxy.gateway.shapes import understand
from grafana_proxy.gateway.table import CallRow, CallTable
from grafana_proxy.identifiers import problem
from grafana_proxy.ingest.events import EventIn, normalize
from grafana_proxy.ingest.fastcheck import check_event
from grafana_proxy.ingest.inbox import EventSink
from grafana_proxy.model import NormalEvent

log = logging.getLogger(__name__)
_DRAIN_BATCH = 500
_LINGER_SECONDS = 0.05


@dataclass(frozen=True)
class RecordedCall:
    timestamp: int  # epoch ms when the call arrived
    request_id: str
    method: str
    path: str
    status: int
    latency: float  # microseconds, upstream round trip
    request_body: bytes
    response_body: bytes
    error: str | None
    response_encoding: str | None = None  # the body is forwarded as is, so it may be compressed


def _decoded(body: bytes, encoding: str | None) -> bytes:
    if encoding in ("gzip", "x-gzip"):
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


def _json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace")


class CallRecorder:
    def __init__(
        self,
        sink: EventSink,
        project: str,
        function: str,
        model: str | None,
        queue_size: int,
        table: CallTable | None = None,
    ) -> None:
        self._sink = sink
        self._project = project
        self._function = function
        self._model = model
        self._table = table
        self._queue: asyncio.Queue[RecordedCall] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None
        self.spooled_inline = 0  # calls recorded on the request path because the queue was full

    def to_event(self, call: RecordedCall) -> NormalEvent:
        request = _json(call.request_body)
        try:
            response = _json(_decoded(call.response_body, call.response_encoding))
        except (OSError, zlib.error):
            response = None
        seen = understand(call.path, request, response)
        name = self._model or seen.model or "default"
        version = seen.version
        model = f"{name}:{version}" if version else name
        if problem("model", model) is not None:  # a name from the request path that no event could carry
            model = "default"
        base: dict[str, Any] = {
            "function_uri": f"{self._project}/{self._function}",
            "model": model,
            "timestamp": call.timestamp,
            "request_id": call.request_id,
            "latency": call.latency,
            "error": call.error,
        }
        full = {**base, "inputs": seen.inputs, "feature_names": seen.feature_names, "outputs": seen.outputs}
        try:
            event = normalize(self._project, check_event(full) or EventIn.model_validate(full))
        except (ValidationError, ValueError):
            # Shapes we cannot tabulate (images, nested tensors): keep the call, with its raw JSON.
            event = normalize(self._project, check_event(base) or EventIn.model_validate(base))
            event.raw, event.outputs = request, [response]
            return event
        event.raw = seen.raw
        return event

    def _row(self, call: RecordedCall) -> CallRow:
        try:
            response = _decoded(call.response_body, call.response_encoding)
        except (OSError, zlib.error):
            response = call.response_body
        return CallRow(
            timestamp=call.timestamp,
            method=call.method,
            path=call.path,
            status=call.status,
            request=call.request_body.decode("utf-8", "replace"),
            response=response.decode("utf-8", "replace"),
            latency=call.latency,
            request_id=call.request_id,
        )

    def _persist(self, calls: list[RecordedCall]) -> None:
        self._sink.submit([self.to_event(c) for c in calls])
        if self._table is not None:
            try:
                self._table.write([self._row(c) for c in calls])
            except Exception:
                # The events are already durable; the audit table is best effort and says so in the log.
                log.exception("could not write %d rows to the gateway table", len(calls))

    async def record(self, call: RecordedCall) -> None:
        try:
            self._queue.put_nowait(call)
        except asyncio.QueueFull:
            self.spooled_inline += 1
            try:
                await run_in_threadpool(self._persist, [call])
            except Exception:
                # The sink refuses (the event stream down, the disk full): wait for room in the queue,
                # which the drain frees once the sink takes batches again, rather than drop the call.
                log.warning("could not record a gateway call inline; waiting for room in the queue")
                await self._queue.put(call)

    async def _drain(self) -> None:
        while True:
            batch = [await self._queue.get()]
            # Let a few more calls arrive: one spool record (one fsync, one fold step) per ~10 calls at
            # 200 calls/s instead of one per call. The calls wait in memory, as they did in the queue.
            await asyncio.sleep(_LINGER_SECONDS)
            while len(batch) < _DRAIN_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            while True:
                try:
                    await run_in_threadpool(self._persist, batch)
                    break
                except Exception:
                    # Disk full, the event stream down: keep the batch and retry (a re-published batch has the
                    # same id, so JetStream drops a copy it already took); record() spools inline meanwhile.
                    log.exception("could not spool %d gateway calls; retrying", len(batch))
                    await asyncio.sleep(1.0)
            for _ in batch:
                self._queue.task_done()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._drain())

    async def flush(self) -> None:
        """Wait until every queued call is spooled."""
        await self._queue.join()

    async def stop(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
