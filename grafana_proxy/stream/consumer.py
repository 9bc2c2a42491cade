"""The ingest side of the JetStream event log: one worker per ingest process, every worker pulling from the
same durable consumer, so each message goes to one of them at a time.

Per fetch (up to ``FETCH_MESSAGES`` messages, ~1 s wait): decode and fold the messages in one database
transaction (``MergedFold``), add their own events to this worker's archive buffer, and hold the messages
unacknowledged until the archive file holding their events is written; then acknowledge them. So:
- a crash before the commit: JetStream redelivers, the fold applies them;
- a crash after the commit, before the archive flush: redelivered, the fold finds the request ids at
  the messages' own positions, counts nothing again, and archives the events;
- a crash after the flush, before the acknowledgement: the same, and the archive holds those rows twice
  (``grafana-proxy archive compact`` drops the duplicate rows).
Held messages get ``in_progress`` (a new ack deadline) every third of ``stream_ack_wait_seconds``.

Poison: a group that fails for any reason but an outage is folded again message by message; a message
that fails is nak'ed, and once JetStream has delivered it ``ingest_max_attempts`` times it is stored in the
dead-letter store byte for byte (source ``stream:<stream name>``, position = its stream sequence) and
acknowledged. An outage (database down) naks with a delay and never dead-letters. NATS down: the client
reconnects by itself; the loop keeps trying and resumes."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from grafana_proxy.archive.writer import ArchiveBuffer
from grafana_proxy.clock import Clock, now_ms
from grafana_proxy.identifiers import is_valid
from grafana_proxy.ingest.config import IngestConfig
from grafana_proxy.ingest.merged import MergedFold
from grafana_proxy.ingest.poison import error_text, is_transient, window_points
from grafana_proxy.model import NormalEvent, SeriesKind
from grafana_proxy.observability.status import write_status
from grafana_proxy.stores.base import Stores
from grafana_proxy.stream.config import StreamConfig
from grafana_proxy.stream.jetstream import connect, ensure_stream
from grafana_proxy.stream.watermark import oldest_stored

log = logging.getLogger(__name__)
FETCH_MESSAGES = 20
FETCH_SECONDS = 1.0
GROUP_BYTES = 1 << 20  # messages folded in one transaction, by payload size (~5,000 events)
MAX_HELD = 500  # messages held for the archive before it is flushed anyway
MAX_ACK_PENDING = 20_000  # the consumer's limit over all workers (each holds up to MAX_HELD)
OUTAGE_DELAY_SECONDS = 2.0
STATUS_SECONDS = 2.0
REPLAY_SECONDS = 1.0
PRUNE_SECONDS = 3600.0


@dataclass(frozen=True)
class WorkerIdentity:
    """Names this process: in emission claims, archive file names and its status file."""

    writer: str

    @classmethod
    def new(cls) -> WorkerIdentity:
        host = "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname())[:24]
        return cls(f"{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}")


def dead_letter_source(config: StreamConfig) -> str:
    return f"stream:{config.stream_name}"


def consumer_config(config: StreamConfig) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=config.stream_consumer,
        filter_subject=config.subjects,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=config.stream_ack_wait_seconds,
        max_deliver=-1,  # this worker decides when a message is poison (ingest_max_attempts)
        max_ack_pending=MAX_ACK_PENDING,
    )


def _groups(msgs: Sequence[Msg]) -> list[list[Msg]]:
    out: list[list[Msg]] = []
    group: list[Msg] = []
    size = 0
    for msg in msgs:
        group.append(msg)
        size += len(msg.data)
        if size >= GROUP_BYTES:
            out.append(group)
            group, size = [], 0
    if group:
        out.append(group)
    return out


def _subject_project(payload: bytes) -> str:
    """The project of a record for its subject when it is published again; "replay" when unreadable."""
    try:
        record: Any = orjson.loads(payload)
        project = record["project"] if isinstance(record, dict) else record[0]["project"]
        return project if isinstance(project, str) and is_valid("project", project) else "replay"
    except Exception:  # an unreadable record still goes back: the fold dead-letters it again
        return "replay"


class StreamWorker:
    def __init__(
        self,
        stream: StreamConfig,
        ingest: IngestConfig,
        stores: Stores,
        status_dir: Path | None = None,
        clock: Clock = now_ms,
        identity: WorkerIdentity | None = None,
    ) -> None:
        self.stream = stream
        self.ingest = ingest
        self.identity = identity or WorkerIdentity.new()
        self.source = dead_letter_source(stream)
        self._stores = stores
        self.fold = MergedFold(ingest, stores, self.identity.writer, self.source, clock)
        self._archive = ArchiveBuffer(ingest.archive_url, self.identity.writer)
        self._held: list[Msg] = []  # folded, waiting for the archive flush before their ack
        self._status = None if status_dir is None else status_dir / f"ingest-{self.identity.writer}.json"
        self.dead_lettered = 0
        self.backlog = 0
        self._last: dict[str, float] = {}
        self._closing = False  # set while this worker closes its connection

    # -- the loop -----------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set (blocking; its own event loop)."""
        asyncio.run(self.consume(stop))

    async def consume(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    await self._session(stop)
                except Exception as error:
                    # NATS unreachable or the consumer gone (a server restarted without its store): retry.
                    log.warning("stream ingest: %s: %s; retrying", type(error).__name__, error)
                    await asyncio.sleep(1.0)
        finally:
            if self._status is not None:
                self._status.unlink(missing_ok=True)

    async def _session(self, stop: threading.Event) -> None:
        self._closing = False
        nc = await connect(
            self.stream,
            f"grafana-proxy-ingest-{self.identity.writer}",
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
        )
        try:
            js = nc.jetstream()
            await ensure_stream(js, self.stream)
            sub = await js.pull_subscribe(
                self.stream.subjects,
                durable=self.stream.stream_consumer,
                stream=self.stream.stream_name,
                config=consumer_config(self.stream),
            )
            log.info("stream ingest %s: consuming %s", self.identity.writer, self.stream.stream_name)
            try:
                while not stop.is_set():
                    await self._step(nc, js, sub)
            finally:
                await self._flush_and_ack()
        finally:
            self._closing = True  # a disconnect now is ours, not an outage
            await nc.close()

    async def _on_error(self, error: Exception) -> None:
        # nats-py reports every failed reconnect attempt here (a traceback by default, twice a second
        # during an outage); the disconnect and the reconnect are logged once each.
        log.debug("NATS: %s", error or type(error).__name__)

    async def _on_disconnected(self) -> None:
        if not self._closing:
            log.warning("stream ingest: lost the connection to NATS at %s; reconnecting", self.stream.stream_url)

    async def _on_reconnected(self) -> None:
        log.info("stream ingest: reconnected to NATS at %s", self.stream.stream_url)

    async def _step(self, nc: NATS, js: JetStreamContext, sub: JetStreamContext.PullSubscription) -> None:
        try:
            msgs = await sub.fetch(FETCH_MESSAGES, timeout=FETCH_SECONDS)
        except (TimeoutError, NatsTimeout):
            msgs = []
        for group in _groups(msgs):
            await self._handle(group)
        await self._housekeeping(js, sub)

    def _due(self, name: str, seconds: float) -> bool:
        now = time.monotonic()
        if now - self._last.get(name, 0.0) < seconds:
            return False
        self._last[name] = now
        return True

    async def _housekeeping(self, js: JetStreamContext, sub: JetStreamContext.PullSubscription) -> None:
        if self._archive_due():
            await self._flush_and_ack()
        if self._held and self._due("in_progress", self.stream.stream_ack_wait_seconds / 3):
            for msg in self._held:
                await msg.in_progress()
        if self._due("emit", self.ingest.window_period_seconds):
            await self._emit(js)
        if self._due("replay", REPLAY_SECONDS):
            await self._replay(js)
        if self._due("prune", PRUNE_SECONDS):
            await self._guarded(self.fold.prune_request_ids)
        if self._due("status", STATUS_SECONDS):
            try:
                self.backlog = int((await sub.consumer_info()).num_pending or 0)
            except Exception as error:  # a report only: NATS down shows as the last value
                log.debug("consumer info: %s", error)
            self._write_status()

    async def _emit(self, js: JetStreamContext) -> None:
        """Window points up to the stream's watermark: the acceptance time of the oldest batch still in
        the stream (this process's held ones included: they are acknowledged after the archive flush)."""
        try:
            ready = await oldest_stored(js, self.stream.stream_name)
        except Exception as error:  # NATS does not answer: no point is written on a guess; next period
            log.debug("stream watermark: %s", error)
            return
        await self._guarded(partial(self.fold.emit, None, ready))

    async def _guarded(self, work: Any) -> None:
        """Background work whose failure (the database down) only delays it."""
        try:
            await asyncio.to_thread(work)
        except Exception:
            log.exception("stream ingest: %s failed; retrying later", getattr(work, "__name__", work))

    # -- folding --------------------------------------------------------------------------------------------

    async def _handle(self, msgs: list[Msg]) -> None:
        try:
            own = await asyncio.to_thread(self.fold.fold, [(m.metadata.sequence.stream, m.data) for m in msgs])
        except Exception as exc:
            if is_transient(exc):
                log.warning("stream ingest: store unavailable (%s); messages will come again", exc)
                for msg in msgs:
                    await msg.nak(delay=OUTAGE_DELAY_SECONDS)
                return
            if len(msgs) > 1:
                log.warning("stream ingest: a group of %d messages failed; folding them one by one", len(msgs))
                for msg in msgs:
                    await self._handle([msg])
                return
            await self._failed(msgs[0], exc)
            return
        self._hold(msgs, own)

    def _hold(self, msgs: list[Msg], own: list[tuple[int, NormalEvent]]) -> None:
        for seq, event in own:
            self._archive.add(seq, event)
        self._held.extend(msgs)

    async def _failed(self, msg: Msg, exc: BaseException) -> None:
        seq, attempts = msg.metadata.sequence.stream, msg.metadata.num_delivered
        if attempts < self.ingest.ingest_max_attempts:
            log.warning(
                "stream message %d failed (attempt %d of %d): %s", seq, attempts, self.ingest.ingest_max_attempts, exc
            )
            await msg.nak()
            return
        letter = await asyncio.to_thread(
            self._stores.dead_letters.add, self.source, str(seq), msg.data, error_text(exc), attempts
        )
        await msg.ack()  # kept in the dead-letter store: the stream may forget it
        self.dead_lettered += 1
        log.error(
            "stream message %d could not be applied after %d attempts (%s: %s); moved to dead letter %d, "
            "see `grafana-proxy deadletter show %d`",
            seq,
            attempts,
            type(exc).__name__,
            str(exc)[:200],
            letter,
            letter,
        )

    # -- archive and acknowledgement ---------------------------------------------------------------------

    def _archive_due(self) -> bool:
        if not self._held:
            return False
        age = self._archive.age_seconds()
        return (
            self._archive.size >= self.ingest.archive_batch_events
            or len(self._held) >= MAX_HELD
            or (age is not None and age >= self.ingest.archive_batch_seconds)
            or (age is None and self._archive.size == 0)  # held messages with nothing of their own to archive
        )

    async def _flush_and_ack(self) -> None:
        """Write the archive buffer, then acknowledge the messages whose events it held."""
        if not self._held:
            return
        try:
            await asyncio.to_thread(self._archive.flush)
        except Exception:
            log.exception("stream ingest: archive flush failed; the messages stay held and it is retried")
            return
        held, self._held = self._held, []
        for msg in held:
            await msg.ack()

    # -- operations ---------------------------------------------------------------------------------------

    async def _replay(self, js: JetStreamContext) -> None:
        """Dead letters an operator asked to replay: stream messages are published again (a new sequence,
        so their request ids count as new: they were never applied), window points are written."""
        try:
            letters = await asyncio.to_thread(self._stores.dead_letters.take_replays, self.source)
            for letter in letters:
                window = window_points(letter)
                if window is None:
                    await js.publish(self.stream.subject(_subject_project(letter.payload)), letter.payload)
                else:
                    await asyncio.to_thread(
                        self._stores.series.write, window[0], window[1], SeriesKind.metric, window[2]
                    )
                await asyncio.to_thread(self._stores.dead_letters.remove, [letter.id])
        except Exception as error:
            log.warning("stream ingest: dead-letter replay postponed: %s", error)

    def _write_status(self) -> None:
        if self._status is not None:
            write_status(
                self._status,
                {
                    "backlog_records": self.backlog,
                    "dead_lettered_total": self.dead_lettered + self.fold.poison.dead_lettered,
                    "stream": self.stream.stream_name,
                    "written_at": time.time(),
                },
            )
