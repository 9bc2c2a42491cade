"""Publishing accepted batches to the JetStream stream: the ``EventSink`` of the api role (and of a
gateway) when ``stream_url`` is set.

One NATS connection per process, on an asyncio loop of its own in a daemon thread; the callers (worker
threads of the events route, the gateway's recorder) hand each publish to that loop and wait for
JetStream's acknowledgement, ``stream_publish_timeout_seconds`` at most in total. A call returns only
once JetStream has stored the batch; anything else (NATS down, no acknowledgement in time) raises
``StreamUnavailable`` and the events API answers 503, never 202.

Each message is exactly a spool record (``raw_record`` / ``events_record``), so the consumer decodes a
message as the fold decodes a spool record, and carries ``Nats-Msg-Id`` = ``batch_id_of`` (project and request
ids): a batch re-sent within the stream's duplicate window is dropped by JetStream, and its PubAck says
``duplicate`` (still a success: the batch is stored). A record larger than NATS takes (its
``max_payload``) is split in halves until each part fits, each part with the id of its own request ids."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from nats.aio.client import Client as NATS
from nats.errors import OutboundBufferLimitError
from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import NoStreamResponseError

from grafana_proxy.ingest.events import request_ids
from grafana_proxy.ingest.inbox import batch_id_of, events_record, raw_record
from grafana_proxy.model import NormalEvent
from grafana_proxy.stream.config import StreamConfig
from grafana_proxy.stream.errors import EventTooLarge, StreamMisconfigured, StreamUnavailable
from grafana_proxy.stream.jetstream import CONNECT_TIMEOUT_SECONDS, connect, ensure_stream

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_SECONDS = 1.0  # between attempts to connect (and to ensure the stream) before the first success
CLOSE_SECONDS = 5.0
DEFAULT_MAX_PAYLOAD = 1024 * 1024  # nats-server's default, until the server says otherwise
HEADER_ROOM = 512  # the Nats-Msg-Id and Nats-Expected-Stream headers count against max_payload too


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    payload: bytes
    msg_id: str


def _fit(items: Sequence[T], encode: Callable[[Sequence[T]], bytes], limit: int) -> list[tuple[Sequence[T], bytes]]:
    """``items`` as records of at most ``limit`` bytes: whole when it fits, else halves, recursively."""
    record = encode(items)
    if len(record) <= limit:
        return [(items, record)]
    if len(items) <= 1:
        raise EventTooLarge(
            f"an event of {len(record)} bytes is larger than the largest message NATS accepts "
            f"({limit + HEADER_ROOM} bytes, its max_payload): send smaller events or raise max_payload"
        )
    half = len(items) // 2
    return _fit(items[:half], encode, limit) + _fit(items[half:], encode, limit)


class JetStreamSink:
    """A process's publisher to the stream: ``start()`` once, ``submit``/``submit_raw`` from any thread
    (never from the loop's own), ``close()`` at the end."""

    def __init__(self, config: StreamConfig, name: str) -> None:
        self._config = config
        self._name = name
        self._timeout = config.stream_publish_timeout_seconds
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"nats-{name}", daemon=True)
        # Set while connected with the stream ensured: publishing waits for it (within its timeout)
        # instead of buffering in the client, so a batch answered 503 is not sent later behind our back.
        self._usable = asyncio.Event()
        self._nc: NATS | None = None
        self._js: JetStreamContext | None = None
        self._connector: Any = None
        self._problem = "not connected yet"  # why publishing cannot work now, for the 503's message
        self._max_payload = DEFAULT_MAX_PAYLOAD
        self._count_lock = threading.Lock()
        self._closed = False
        self.accepted_events = 0  # acknowledged by JetStream since start: /metrics
        self.publish_failures = 0  # calls that raised StreamUnavailable: /metrics

    # Lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start connecting in the background and return: NATS being down must not stop the process
        from serving reads. Publishing waits (within its timeout) for the first connection."""
        self._thread.start()
        self._connector = asyncio.run_coroutine_threadsafe(self._connect(), self._loop)

    async def _connect(self) -> None:
        """Connect, ensure the stream, then leave reconnecting to the client (it retries for ever)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                nc = await connect(
                    self._config,
                    f"grafana-proxy-{self._name}",
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    pending_size=0,  # no buffering while disconnected: publish fails, and we wait
                )
                break
            except StreamUnavailable as error:
                self._problem = str(error)
                (log.warning if attempt == 1 else log.debug)("%s; retrying every %g s", error, RETRY_SECONDS)
                await asyncio.sleep(RETRY_SECONDS)
        self._nc = nc
        js = nc.jetstream()
        while True:
            try:
                await ensure_stream(js, self._config)
                break
            except StreamMisconfigured as error:
                self._problem = str(error)
                log.error("%s", error)
            except Exception as error:  # JetStream not enabled, a timeout while the server starts
                reason = error or type(error).__name__
                self._problem = f"JetStream at {self._config.stream_url} does not answer ({reason})"
                log.warning("%s; retrying", self._problem)
            await asyncio.sleep(RETRY_SECONDS)
        self._max_payload = nc.max_payload or DEFAULT_MAX_PAYLOAD
        self._js = js
        self._problem = "reconnecting to NATS"
        if nc.is_connected:
            self._usable.set()
        log.info("publishing accepted events to JetStream stream %s at %s", self._config.stream_name, nc.connected_url)

    async def _on_error(self, error: Exception) -> None:
        # nats-py reports every failed reconnect attempt here; the disconnect itself is logged once.
        log.debug("NATS: %s", error or type(error).__name__)

    async def _on_disconnected(self) -> None:
        self._usable.clear()
        self._problem = "lost the connection to NATS; reconnecting"
        if not self._closed:
            log.warning(
                "lost the connection to NATS at %s; reconnecting (events are refused with 503 meanwhile)",
                self._config.stream_url,
            )

    async def _on_reconnected(self) -> None:
        if self._nc is not None:
            self._max_payload = self._nc.max_payload or DEFAULT_MAX_PAYLOAD
            log.info("reconnected to NATS at %s", self._nc.connected_url)
        if self._js is not None:  # else the first connection is still ensuring the stream
            self._usable.set()

    def close(self) -> None:
        """Close the connection (what JetStream acknowledged is in the stream) and stop the loop."""
        if self._closed or not self._thread.is_alive():
            return
        self._closed = True

        async def _close() -> None:
            if self._connector is not None:
                self._connector.cancel()
            if self._nc is not None and not self._nc.is_closed:
                await self._nc.close()

        try:
            asyncio.run_coroutine_threadsafe(_close(), self._loop).result(CLOSE_SECONDS)
        except Exception as error:  # shutting down: the connection goes with the process anyway
            log.debug("closing the NATS connection: %s", error or type(error).__name__)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CLOSE_SECONDS)
        if not self._thread.is_alive():
            self._loop.close()

    # EventSink -------------------------------------------------------------------------------------

    def submit_raw(self, project: str, batch: bytes, count: int = 0, batch_id: str | None = None) -> int:
        """Publish a batch as the client sent it (``check_batch`` accepted it); returns its stream sequence."""
        limit = self._max_payload - HEADER_ROOM
        subject = self._config.subject(project)
        record = raw_record(project, batch)
        if len(record) <= limit:
            messages = [Message(subject, record, batch_id or _raw_batch_id(project, batch, record))]
        else:  # rare: only a batch beyond NATS' max_payload is parsed again here
            body = orjson.loads(batch)
            items: Any = body.get("events") if isinstance(body, dict) else body
            parts = _fit(items, lambda part: raw_record(project, orjson.dumps(part)), limit)
            messages = [Message(subject, record, batch_id_of(project, request_ids(part))) for part, record in parts]
        return self._send(messages, count)

    def submit(self, events: Sequence[NormalEvent]) -> int:
        """Publish normalised events (the gateway's): one record per project, as a record holds one."""
        if not events:
            return 0
        by_project: dict[str, list[NormalEvent]] = {}
        for event in events:
            by_project.setdefault(event.project, []).append(event)
        limit = self._max_payload - HEADER_ROOM
        messages = [
            Message(self._config.subject(project), record, batch_id_of(project, [e.request_id for e in part]))
            for project, group in by_project.items()
            for part, record in _fit(group, events_record, limit)
        ]
        return self._send(messages, len(events))

    def _send(self, messages: list[Message], count: int) -> int:
        """Publish every message and wait for every PubAck, ``stream_publish_timeout_seconds`` in all."""
        deadline = time.monotonic() + self._timeout
        future = asyncio.run_coroutine_threadsafe(self._publish(messages, deadline), self._loop)
        try:
            seq = future.result(max(0.0, deadline - time.monotonic()))
        except StreamUnavailable:
            self._failed()
            raise
        except TimeoutError:  # the loop's own timeouts and this wait's (both TimeoutError since 3.11)
            future.cancel()
            self._failed()
            raise StreamUnavailable(self._unavailable(f"no acknowledgement within {self._timeout:g} s")) from None
        except Exception as error:
            self._failed()
            raise StreamUnavailable(self._unavailable(f"{type(error).__name__}: {error}")) from None
        with self._count_lock:
            self.accepted_events += count
        return seq

    def _failed(self) -> None:
        with self._count_lock:
            self.publish_failures += 1

    def _unavailable(self, why: str) -> str:
        if not self._usable.is_set():
            why = f"{why}; {self._problem}"
        return (
            f"the event stream (NATS JetStream at {self._config.stream_url}, stream {self._config.stream_name}) "
            f"did not acknowledge the batch ({why}), so it is not accepted: check that NATS is running and "
            "reachable from this process, then send the batch again (re-sending the same request ids is harmless)"
        )

    async def _publish(self, messages: list[Message], deadline: float) -> int:
        await asyncio.wait_for(self._usable.wait(), max(0.0, deadline - time.monotonic()))
        js = self._js
        assert js is not None  # set before _usable
        acks = await asyncio.gather(*(self._publish_one(js, message, deadline) for message in messages))
        return acks[-1].seq

    async def _publish_one(self, js: JetStreamContext, message: Message, deadline: float) -> PubAck:
        # A PubAck with duplicate=True is a success too: JetStream stored this batch before.
        try:
            return await self._js_publish(js, message, deadline)
        except NoStreamResponseError:
            # Nothing listens on the subject: the stream was deleted since. Make it again, publish once more.
            log.warning("JetStream stream %s is gone; creating it again", self._config.stream_name)
            await asyncio.wait_for(ensure_stream(js, self._config), max(0.0, deadline - time.monotonic()))
            return await self._js_publish(js, message, deadline)

    async def _js_publish(self, js: JetStreamContext, message: Message, deadline: float) -> PubAck:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            await asyncio.wait_for(self._usable.wait(), remaining)
            try:
                return await js.publish(
                    message.subject,
                    message.payload,
                    timeout=max(0.001, deadline - time.monotonic()),
                    stream=self._config.stream_name,  # refused by NATS if another stream took the subject
                    headers={"Nats-Msg-Id": message.msg_id},
                )
            except OutboundBufferLimitError:
                # Disconnected a moment ago (the callback clearing _usable has not run yet): wait for it.
                await asyncio.sleep(0.05)


def _raw_batch_id(project: str, batch: bytes, record: bytes) -> str:
    """The id of a raw batch whose caller did not give one: from its request ids when it has them."""
    try:
        return batch_id_of(project, request_ids(orjson.loads(batch)))
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return hashlib.sha256(record).hexdigest()


def check_stream(config: StreamConfig) -> None:
    """At start: raise ``StreamMisconfigured`` when the stream exists with a layout we cannot use (a
    restart will not help); NATS unreachable is only logged (the sink connects once it is back)."""

    async def probe() -> None:
        nc = await connect(config, "grafana-proxy-check", error_cb=_quiet)
        try:
            await ensure_stream(nc.jetstream(), config)
        finally:
            await nc.close()

    async def bounded() -> None:
        await asyncio.wait_for(probe(), CONNECT_TIMEOUT_SECONDS + config.stream_publish_timeout_seconds)

    try:
        asyncio.run(bounded())
    except StreamMisconfigured:
        raise
    except Exception as error:
        log.warning(
            "NATS at %s is not reachable now (%s): serving reads; events are refused with 503 until it is",
            config.stream_url,
            error or type(error).__name__,
        )


async def _quiet(error: Exception) -> None:
    log.debug("NATS: %s", error or type(error).__name__)
