"""The monitor gateway: a reverse proxy in front of a model service that records every call.

Any method and path is forwarded unchanged; status, headers and body come back unchanged (hop-by-hop
headers aside). Upstream unreachable -> 502, too slow -> 504, each with a JSON message and recorded as an
error event. Recording is queued (see recorder.py), so the proxy adds little more than one HTTP hop.

A plain ASGI app rather than a framework route: per call it only reads the body, writes the request bytes
on a pooled upstream connection (upstream.py) and sends the answer back; routing, request objects and
response classes cost more than that at 200 calls/s on a small machine."""

from __future__ import annotations

import asyncio
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.concurrency import run_in_threadpool

from grafana_proxy.gateway.recorder import CallRecorder, RecordedCall
from grafana_proxy.gateway.upstream import UpstreamConnectTimeout, UpstreamError, UpstreamPool

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Connection-specific headers (RFC 9110, section 7.6.1), plus the ones the server recomputes.
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
    }
)
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_JSON = [(b"content-type", b"application/json")]


@dataclass(frozen=True)
class GatewayOptions:
    service_url: str
    connect_timeout: float = 2.0
    read_timeout: float = 30.0
    max_connections: int = 100


def _error(status: int, message: str, error: str) -> tuple[int, bytes]:
    return status, orjson.dumps({"message": message, "error": error})


class GatewayApp:
    """The proxy as an ASGI app (http and lifespan). ``on_stop`` runs (in a thread) at the end of the
    lifespan, after the queue is spooled: uvicorn re-raises SIGTERM once its shutdown is done, so code after
    ``uvicorn.run`` may never run."""

    def __init__(
        self, options: GatewayOptions, recorder: CallRecorder, on_stop: Callable[[], None] | None = None
    ) -> None:
        self._options = options
        self._recorder = recorder
        self._on_stop = on_stop
        self._upstream = options.service_url.rstrip("/")
        parts = urlsplit(self._upstream)
        self._tls = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if self._tls else 80)
        self._host_header = parts.netloc.rpartition("@")[2].encode("latin-1")
        self._prefix = parts.path.encode("latin-1")
        # One deadline over the whole exchange: an upstream that trickles a byte at a time is bounded too.
        self._deadline = options.connect_timeout + options.read_timeout
        self._pool: UpstreamPool | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._forward(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                context = ssl.create_default_context() if self._tls else None
                self._pool = UpstreamPool(
                    self._host, self._port, self._options.connect_timeout, self._options.max_connections, context
                )
                self._recorder.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self._recorder.stop()
                    if self._pool is not None:
                        self._pool.close()
                    if self._on_stop is not None:
                        await run_in_threadpool(self._on_stop)
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return

    def _request_bytes(self, scope: Scope, body: bytes) -> bytes:
        target = self._prefix + (scope.get("raw_path") or scope["path"].encode("utf-8"))
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        lines = [scope["method"].encode("ascii") + b" " + target + b" HTTP/1.1", b"host: " + self._host_header]
        lines += [k + b": " + v for k, v in scope["headers"] if k.lower() not in _HOP_BY_HOP]
        if body or scope["method"] in ("POST", "PUT", "PATCH"):
            lines.append(b"content-length: " + str(len(body)).encode("ascii"))
        return b"\r\n".join(lines) + b"\r\n\r\n" + body

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        arrived = time.time()
        method: str = scope["method"]
        if method not in _METHODS:
            status, content = _error(405, f"method {method} is not forwarded", "method not allowed")
            await _answer(send, status, _JSON, content)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        request_id = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None)
        error: str | None = None
        headers: list[tuple[bytes, bytes]] = []
        encoding: str | None = None
        started = time.perf_counter()
        try:
            assert self._pool is not None, "the gateway's lifespan did not run"
            async with asyncio.timeout(self._deadline):
                reply = await self._pool.request(self._request_bytes(scope, body), head_only=method == "HEAD")
            status, content = reply.status, b"".join(reply.body)
            for name, value in reply.headers:
                lowered = name.lower()
                if lowered not in _HOP_BY_HOP:
                    headers.append((name, value))
                    if lowered == b"content-encoding":
                        encoding = value.decode("latin-1")
            if status >= 400:
                error = f"upstream answered HTTP {status}"
        except UpstreamConnectTimeout:
            # No connection within connect_timeout: the service is down or unreachable (502, as documented).
            error = (
                f"model service at {self._upstream} is unreachable: no connection within "
                f"{self._options.connect_timeout} s"
            )
            status, content = _error(502, error, "upstream unavailable")
        except TimeoutError:
            error = f"model service at {self._upstream} did not answer within the timeout ({self._deadline:g} s)"
            status, content = _error(504, error, "upstream timeout")
        except UpstreamError as exc:
            error = f"model service at {self._upstream} is unreachable: {exc}"
            status, content = _error(502, error, "upstream unavailable")
        latency_us = (time.perf_counter() - started) * 1e6
        call = RecordedCall(
            timestamp=int(arrived * 1000),
            request_id=request_id or uuid.uuid4().hex,
            method=method,
            path=scope["path"],
            status=status,
            latency=latency_us,
            request_body=body,
            response_body=content,
            response_encoding=encoding,
            error=error,
        )
        try:
            await _answer(send, status, headers or _JSON, content)
        finally:  # the client may be gone: the call is recorded all the same
            await self._recorder.record(call)


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], content: bytes) -> None:
    length = (b"content-length", str(len(content)).encode("ascii"))
    await send({"type": "http.response.start", "status": status, "headers": [length, *headers]})
    await send({"type": "http.response.body", "body": content})


def create_gateway_app(
    options: GatewayOptions, recorder: CallRecorder, on_stop: Callable[[], None] | None = None
) -> GatewayApp:
    """The proxy app; see ``GatewayApp``."""
    return GatewayApp(options, recorder, on_stop)
