"""The monitor gateway: a reverse proxy in front of a model service that records every call.

Any method and path is forwarded unchanged; status, headers and body come back unchanged (hop-by-hop
headers aside). Upstream unreachable -> 502, too slow -> 504, each with a JSON message and recorded as an
error event. Recording is queued (see recorder.py), so the proxy adds little more than one HTTP hop."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from grafana_proxy.gateway.recorder import CallRecorder, RecordedCall

# RFC 9110 §7.6.1 connection-specific headers, plus the ones the server recomputes.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@dataclass(frozen=True)
class GatewayOptions:
    service_url: str
    connect_timeout: float = 2.0
    read_timeout: float = 30.0
    max_connections: int = 100


def _error(status: int, message: str, error: str) -> tuple[int, bytes]:
    return status, orjson.dumps({"message": message, "error": error})


def create_gateway_app(
    options: GatewayOptions, recorder: CallRecorder, on_stop: Callable[[], None] | None = None
) -> Starlette:
    """The proxy app. ``on_stop`` runs (in a thread) at the end of the lifespan, after the queue is spooled:
    uvicorn re-raises SIGTERM once its shutdown is done, so code after ``uvicorn.run`` may never run."""
    timeout = httpx.Timeout(options.read_timeout, connect=options.connect_timeout)
    limits = httpx.Limits(
        max_connections=options.max_connections,
        max_keepalive_connections=options.max_connections,
    )
    upstream = options.service_url.rstrip("/")
    # httpx's read timeout is per read: an upstream that trickles a byte at a time would hold the client
    # forever. One deadline over the whole exchange bounds every answer.
    deadline = options.connect_timeout + options.read_timeout

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # Redirects are the client's business: forward them unchanged instead of following them.
        async with httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=False) as client:
            app.state.client = client
            recorder.start()
            try:
                yield
            finally:
                await recorder.stop()
                if on_stop is not None:
                    await run_in_threadpool(on_stop)

    async def forward(request: Request) -> Response:
        client: httpx.AsyncClient = request.app.state.client
        arrived = time.time()
        body = await request.body()
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP]
        url = upstream + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        started = time.perf_counter()
        error: str | None = None
        response_headers: list[tuple[bytes, bytes]] = []
        try:
            async with asyncio.timeout(deadline):
                reply = await client.send(
                    client.build_request(request.method, url, headers=headers, content=body),
                    stream=True,
                )
                try:
                    content = b"".join([chunk async for chunk in reply.aiter_raw()])
                finally:
                    await reply.aclose()
            status = reply.status_code
            response_headers = [(k, v) for k, v in reply.headers.raw if k.decode("latin-1").lower() not in _HOP_BY_HOP]
            if status >= 400:
                error = f"upstream answered HTTP {status}"
        except httpx.ConnectTimeout:
            # No connection within connect_timeout: the service is down or unreachable (502, as documented).
            error = f"model service at {upstream} is unreachable: no connection within {options.connect_timeout} s"
            status, content = _error(502, error, "upstream unavailable")
        except (httpx.TimeoutException, TimeoutError) as exc:
            error = f"model service at {upstream} did not answer within the timeout ({type(exc).__name__})"
            status, content = _error(504, error, "upstream timeout")
        except httpx.HTTPError as exc:
            error = f"model service at {upstream} is unreachable: {exc or type(exc).__name__}"
            status, content = _error(502, error, "upstream unavailable")
        latency_us = (time.perf_counter() - started) * 1e6
        response = Response(content=content, status_code=status)
        if response_headers:
            response.raw_headers = [h for h in response.raw_headers if h[0] == b"content-length"] + response_headers
        else:
            response.headers["content-type"] = "application/json"
        await recorder.record(
            RecordedCall(
                timestamp=int(arrived * 1000),
                request_id=request_id,
                method=request.method,
                path=request.url.path,
                status=status,
                latency=latency_us,
                request_body=body,
                response_body=content,
                response_encoding=dict(response_headers).get(b"content-encoding", b"").decode("latin-1") or None,
                error=error,
            )
        )
        return response

    app = Starlette(routes=[Route("/{path:path}", forward, methods=_METHODS)], lifespan=lifespan)
    return app
