"""ASGI middleware: a body-size limit (413 before the body is buffered) and a request log line with
a request id. The log line carries method, path, status and duration only: never headers or the
query string, so access keys cannot leak into logs."""

from __future__ import annotations

import logging
import os
import re
import time

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grafana_proxy.logs import redact, request_id_var

logger = logging.getLogger("grafana_proxy.access")
# A caller's X-Request-Id is kept only when it looks like an id: it goes into logs and a header.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class BodyTooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> bytes:
    """The first value of header ``name`` (lower case), b"" when absent; no dict of all headers built."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return b""


async def _send_json(send: Send, status: int, payload: dict[str, str]) -> None:
    body = orjson.dumps(payload)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """``max_bytes`` for every request; ``batch_max_bytes`` for batch uploads (paths ending in /batches),
    which are streamed to disk instead of being held in memory."""

    def __init__(self, app: ASGIApp, max_bytes: int, batch_max_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.batch_max_bytes = batch_max_bytes or max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        batch = scope["path"].endswith("/batches")
        limit = self.batch_max_bytes if batch else self.max_bytes
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            await _send_json(send, 413, self._message(batch))
            return
        seen = 0
        started = False
        exceeded = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                # FastAPI catches any error while it reads a body and answers 400 ("error parsing the
                # body"); a body over the limit must still be a 413, so that answer is replaced.
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _send_json(send, 413, self._message(batch))
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _send_json(send, 413, self._message(batch))

    def _message(self, batch: bool) -> dict[str, str]:
        if batch:
            return {
                "message": f"batch file larger than {self.batch_max_bytes} bytes; split it "
                "(limit: GRAFANA_PROXY_BATCH_MAX_BYTES)",
                "error": "payload too large",
            }
        return {
            "message": f"request body larger than {self.max_bytes} bytes; split the batch "
            "(limit: GRAFANA_PROXY_MAX_BODY_BYTES)",
            "error": "payload too large",
        }


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id").decode("latin-1")
        # A key pasted into the wrong header must not become a logged id (nor a response header).
        if given and _REQUEST_ID.fullmatch(given) and redact(given) == given:
            request_id = given
        else:
            request_id = os.urandom(8).hex()  # 16 hex digits, like uuid4().hex[:16] without the UUID object
        token = request_id_var.set(request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = redact(scope["path"])  # a key pasted into a URL path stays out of the record, too
            logger.info(
                "%s %s %d %.1fms",
                scope["method"],
                path,
                status,
                (time.perf_counter() - started) * 1000,
                extra={"request_id": request_id, "status": status, "path": path},
            )
            request_id_var.reset(token)
