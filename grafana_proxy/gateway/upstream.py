"""The gateway's client to the model service: keep-alive HTTP/1.1 connections parsed by httptools.

Why not httpx: profiling the gateway at 200 requests/s showed ~70% of its CPU in ``httpx.AsyncClient.send``
(request/response models, header classes, the httpcore pool, anyio streams), ~1 ms per call on this machine,
so it queued. A forwarded call needs much less: write the request bytes on a pooled connection, let the C
parser (httptools, which uvicorn[standard] installs for its own server side) find the status, the headers
and the end of the body, hand back the bytes. Transfer-encoding is undone (the body is forwarded with a
content-length, as before); content-encoding is not (forwarded compressed, as before)."""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from dataclasses import dataclass, field

import httptools


class UpstreamError(Exception):
    """The connection failed or broke before a whole answer arrived (the gateway answers 502)."""


class UpstreamConnectTimeout(UpstreamError):
    """No connection within the connect timeout."""


@dataclass
class Reply:
    status: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: list[bytes] = field(default_factory=list)


class _Connection(asyncio.Protocol):
    """One keep-alive connection, one exchange at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self._parser = httptools.HttpResponseParser(self)
        self._reply: Reply | None = None
        self._done: asyncio.Future[Reply] | None = None
        self._head_only = False
        self._received = 0
        self.keep_alive = True

    # -- asyncio.Protocol -------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transport is no asyncio.Transport

    def data_received(self, data: bytes) -> None:
        self._received += len(data)
        if self._done is None or self._done.done():
            self.lost = True  # bytes nobody asked for: this connection can no longer be trusted
            if self.transport is not None:
                self.transport.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._finish(UpstreamError(f"invalid HTTP answer ({error})"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self._done is not None and not self._done.done():
            detail = f"{type(exc).__name__}: {exc}" if exc else "the connection was closed"
            self._finish(UpstreamError(f"no complete answer ({detail})"))

    # -- httptools callbacks ------------------------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self._reply is not None
        self._reply.headers.append((name, value))

    def on_headers_complete(self) -> None:
        assert self._reply is not None
        self._reply.status = self._parser.get_status_code()
        self.keep_alive = self._parser.should_keep_alive()
        if self._head_only:  # an answer to HEAD announces a length but carries no body
            self.keep_alive = False  # the parser would wait for that body: never reuse this connection
            self._finish(self._reply)

    def on_body(self, body: bytes) -> None:
        assert self._reply is not None
        self._reply.body.append(body)

    def on_message_complete(self) -> None:
        if self._reply is None:
            return
        if 100 <= self._reply.status < 200 and self._reply.status != 101:
            self._reply = Reply(0)  # an interim answer (100 Continue): the real one follows
            return
        self._finish(self._reply)

    # -- use --------------------------------------------------------------------------------------------------

    def _finish(self, outcome: Reply | Exception) -> None:
        done = self._done
        if done is None or done.done():
            return
        if isinstance(outcome, Exception):
            self.keep_alive = False
            done.set_exception(outcome)
        else:
            done.set_result(outcome)

    @property
    def fresh_failure(self) -> bool:
        """Lost before a single byte of answer: what a keep-alive connection closed by the server looks like."""
        return self.lost and self._received == 0

    def exchange(self, request: bytes, head_only: bool) -> asyncio.Future[Reply]:
        assert self.transport is not None
        self._reply, self._head_only, self._received = Reply(0), head_only, 0
        self._done = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self._done

    def close(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.close()


class UpstreamPool:
    """Keep-alive connections to one ``host:port``, at most ``max_connections`` in use at once."""

    def __init__(
        self, host: str, port: int, connect_timeout: float, max_connections: int, tls: ssl.SSLContext | None = None
    ) -> None:
        self.host, self.port = host, port
        self._tls = tls
        self._connect_timeout = connect_timeout
        self._idle: deque[_Connection] = deque()
        self._slots = asyncio.Semaphore(max_connections)

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, connection = await loop.create_connection(
                    _Connection, self.host, self.port, ssl=self._tls, server_hostname=self.host if self._tls else None
                )
        except TimeoutError:
            raise UpstreamConnectTimeout(f"no connection within {self._connect_timeout} s") from None
        except OSError as error:
            raise UpstreamError(error.strerror or type(error).__name__) from None
        return connection

    def _take_idle(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()  # the most recently used: the least likely to be timed out
            if not connection.lost and connection.transport is not None and not connection.transport.is_closing():
                return connection
        return None

    async def request(self, request: bytes, head_only: bool) -> Reply:
        """Send ``request`` (complete HTTP/1.1 bytes) and return the whole answer. A reused connection that
        the server had closed before answering a single byte is retried once on a new connection."""
        async with self._slots:
            connection = self._take_idle()
            if connection is not None:
                try:
                    return await self._exchange(connection, request, head_only)
                except UpstreamError:
                    if not connection.fresh_failure:
                        raise
            return await self._exchange(await self._connect(), request, head_only)

    async def _exchange(self, connection: _Connection, request: bytes, head_only: bool) -> Reply:
        try:
            reply = await connection.exchange(request, head_only)
        except BaseException:  # broken, or cancelled at the deadline (the answer may still come): drop it
            connection.close()
            raise
        if connection.keep_alive and not connection.lost:
            self._idle.append(connection)
        else:
            connection.close()
        return reply

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
