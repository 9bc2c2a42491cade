"""The hand-off between processes that accept events (the api role's workers, a gateway) and the one
process that folds them (the ingest role).

Each accepting process owns a spool directory ``<spool_dir>/inbox/<writer>/``: it holds an exclusive
``flock`` on ``LOCK`` for its whole life and appends framed, fsynced records to ``wal/`` (``Spool``), so a
202 means the batch is on disk, as before. The ingest process follows every writer directory with a
``SpoolReader`` (which only ever returns whole records, also while the writer is mid-write), copies the
records into its own spool with one fsync, and then deletes the writer's segments it has copied. A
writer directory whose lock is free belongs to a process that has exited: once read to its end it is
removed.

A crash between the copy and the deletion copies the same records again after a restart; the fold's
de-duplication by ``request_id`` drops the second copy, so a record is folded exactly once.

This module imports nothing heavier than the standard library and orjson: the api role loads it."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Protocol

import orjson

from grafana_proxy.ingest.counter import COUNT_FILE, AcceptedCount, read_count
from grafana_proxy.ingest.spool import Spool, SpoolReader, drop_before
from grafana_proxy.model import NormalEvent

log = logging.getLogger(__name__)

INBOX = "inbox"
_LOCK = "LOCK"
_WAL = "wal"


class EventSink(Protocol):
    """Where accepted events go: an ``InboxWriter`` (api role, gateway) or the ``IngestPipeline`` itself."""

    def submit(self, events: Sequence[NormalEvent]) -> int:
        """Make normalised events durable; blocking (fsync)."""

    def submit_raw(self, project: str, batch: bytes, count: int = 0, batch_id: str | None = None) -> int:
        """Make a raw batch durable (see ``raw_record``); blocking (fsync). ``batch_id`` (see ``batch_id_of``)
        lets a log with a duplicate window drop a re-sent batch; a spool has none and ignores it."""


class OwnedSink(EventSink, Protocol):
    """A sink a process opened for itself (``Runtime.open_event_sink``): an inbox, or a JetStream
    publisher. It counts the events it made durable (for /metrics) and is closed when the process stops."""

    accepted_events: int

    def close(self) -> None:
        """Stop accepting; what was accepted stays durable."""


def batch_id_of(project: str, request_ids: Sequence[str]) -> str:
    """The identity of a batch: a digest of its project and request ids in order, so the same batch sent
    again (a client retry) has the same id however its JSON is laid out."""
    return hashlib.sha256(orjson.dumps([project, request_ids])).hexdigest()


def raw_record(project: str, batch: bytes) -> bytes:
    """A spool record holding a batch as the client sent it (JSON bytes ``check_batch`` accepted): no
    re-encoding on the request path; the fold normalises it (``parse_batch`` is deterministic)."""
    return b'{"project":' + orjson.dumps(project) + b',"batch":' + batch + b"}"


def events_record(events: Sequence[NormalEvent]) -> bytes:
    """A spool record holding normalised events (the gateway's)."""
    return orjson.dumps(list(events))  # orjson serialises dataclasses natively


def _try_lock(path: Path) -> IO[str] | None:
    """The open, exclusively locked file, or None when another process holds the lock."""
    handle = open(path, "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


class InboxWriter:
    """One process's durable inbox. ``submit``/``submit_raw`` return once the batch is on disk."""

    def __init__(self, spool_dir: Path, segment_bytes: int, name: str = "writer") -> None:
        inbox = spool_dir / INBOX
        inbox.mkdir(parents=True, exist_ok=True)
        writer = f"{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # Built under a hidden name and renamed once locked, so the ingest process never sees a writer
        # directory without its lock held (it would take it for an exited writer's and remove it).
        building = inbox / f".{writer}"
        building.mkdir()
        lock = _try_lock(building / _LOCK)
        assert lock is not None  # a fresh directory nobody else knows
        self._lock = lock
        self.spool = Spool(building / _WAL, segment_bytes)
        self.directory = inbox / writer
        os.replace(building, self.directory)
        self.spool.directory = self.directory / _WAL
        self.accepted_events = 0  # made durable since start: /metrics turns it into the ingest rate
        self._count = AcceptedCount(self.directory)
        self._count_lock = threading.Lock()

    def submit(self, events: Sequence[NormalEvent]) -> int:
        """Make normalised events durable; returns the record's sequence number (0 for no events)."""
        if not events:
            return 0
        seq = self.spool.append(events_record(events))
        self._accepted(len(events))
        return seq

    def submit_raw(self, project: str, batch: bytes, count: int = 0, batch_id: str | None = None) -> int:
        seq = self.spool.append(raw_record(project, batch))
        self._accepted(count)
        return seq

    def _accepted(self, count: int) -> None:
        """Count durable events, in the count file too: other processes' /metrics read it."""
        with self._count_lock:
            self.accepted_events += count
            self._count.save(self.accepted_events)

    def close(self) -> None:
        """Stop writing; what was appended (and the final count) stays for the ingest process, which
        removes the directory once it has folded it."""
        with self._count_lock:
            self._count.save(self.accepted_events)
        self.spool.close()
        self._lock.close()


class InboxImporter:
    """The ingest side: copies every writer's new records into ``target`` and cleans up after them."""

    def __init__(self, spool_dir: Path, target: Spool) -> None:
        self.inbox = spool_dir / INBOX
        self._target = target
        self._readers: dict[str, SpoolReader] = {}
        # Accepted-events counts of the inboxes removed since the owner last took them.
        self.retired_accepted = 0

    def _writers(self) -> Iterator[Path]:
        if not self.inbox.is_dir():
            return
        for path in sorted(self.inbox.iterdir()):
            if path.is_dir() and not path.name.startswith("."):
                yield path

    def run(self, max_records: int = 1000) -> int:
        """Copy up to ``max_records`` new records per writer; return how many were copied."""
        copied = 0
        for writer in self._writers():
            copied += self._import(writer, max_records)
        return copied

    def _import(self, writer: Path, max_records: int) -> int:
        reader = self._readers.get(writer.name)
        if reader is None:
            reader = self._readers[writer.name] = SpoolReader(writer / _WAL, 0)
        copied = self._copy(writer, reader, max_records)
        if copied:
            return copied
        lock = _try_lock(writer / _LOCK)
        if lock is None:  # the writer is alive and has nothing new
            return 0
        try:  # the writer has exited: nothing more can arrive, so copy the rest and remove its directory
            while copy := self._copy(writer, reader, max_records):
                copied += copy
            self.retired_accepted += read_count(writer / COUNT_FILE)
            shutil.rmtree(writer, ignore_errors=True)
            self._readers.pop(writer.name, None)
            log.debug("inbox of exited writer %s folded and removed", writer.name)
        finally:
            lock.close()
        return copied

    def _copy(self, writer: Path, reader: SpoolReader, max_records: int) -> int:
        records = reader.read(max_records)
        if records:
            self._target.append_many([payload for _, payload in records])
            drop_before(writer / _WAL, reader.position + 1)
        return len(records)
