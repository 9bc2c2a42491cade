"""The ingest pipeline: spool -> (dedup) -> endpoint registry, stream windows, feature samples, archive.

``submit`` makes a validated batch durable (spool fsync) and returns; a worker thread folds the spool into the
stores. The fold is deterministic from a snapshot ``(spool position, window state)`` written only when the
archive buffer is empty, so recovery after kill -9 = load the snapshot, finish an interrupted archive flush,
and replay the spool after the position. Every effect of a replay is idempotent: series points are keyed by
time, record fields are absolute values, archive files are named after the spool position they start at."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from grafana_proxy.archive.writer import ArchiveBuffer
from grafana_proxy.clock import Clock, now_ms
from grafana_proxy.ingest.config import IngestConfig
from grafana_proxy.ingest.counter import AcceptedCount, accepted_in
from grafana_proxy.ingest.dedup import DedupIndex
from grafana_proxy.ingest.inbox import InboxImporter, events_record, raw_record
from grafana_proxy.ingest.poison import PoisonGuard, is_transient, window_points
from grafana_proxy.ingest.records import decode_record
from grafana_proxy.ingest.registry import EndpointRegistry
from grafana_proxy.ingest.spool import Spool, SpoolReader
from grafana_proxy.ingest.windows import EndpointWindows, Windows
from grafana_proxy.model import NormalEvent, SeriesKind
from grafana_proxy.stores.base import DeadLetterStore, Point, Stores

log = logging.getLogger(__name__)
# Spool records per fold step: the archive's size limit is checked between steps, so this bounds what a
# step can add to the buffer (20 events-API batches of <= 1,000 events; the gateway's records hold ~10 calls).
_STEP_RECORDS = 20
_FOLD_PAUSE_SECONDS = 0.2
_GROUP_BYTES = 1 << 20  # spool records folded together, by payload size (~5,000 events)
_POSITION_BITS = 20  # event position = spool seq << 20 | index in batch (batches are capped far below 2**20)
_REPLAY_CHECK_SECONDS = 1.0


class SpoolLocked(RuntimeError):
    """Another process already runs a pipeline on this spool directory."""


def spool_in_use(spool_dir: Path) -> bool:
    """True when a pipeline (in this or another process) holds the lock of ``spool_dir``; lets a command
    refuse to start with one line instead of failing inside its server's start-up."""
    try:
        handle = open(spool_dir / "LOCK")  # read-only: a probe never creates anything
    except OSError:  # no spool yet, or unreadable: the start-up checks report a bad data directory
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        handle.close()  # closing drops a lock this probe took
    return False


class IngestPipeline:
    def __init__(
        self,
        config: IngestConfig,
        stores: Stores,
        name: str = "serve",
        dead_letters: DeadLetterStore | None = None,
        clock: Clock = now_ms,
    ) -> None:
        self.config = config
        self._stores = stores
        self._clock = clock
        self.dead_letter_source = f"spool:{name}"
        self._poison = PoisonGuard(
            dead_letters or stores.dead_letters, self.dead_letter_source, config.ingest_max_attempts
        )
        self._last_replay_check = 0.0
        self._dir = config.spool_dir / name
        self._dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self._dir / "LOCK", "w")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise SpoolLocked(f"spool {self._dir} is in use by another process") from None
        self._work = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.spool = Spool(self._dir / "wal", config.spool_segment_bytes)
        # Batches other processes accepted (the api role, gateways) arrive through the inbox.
        self._inbox = InboxImporter(config.spool_dir, self.spool)
        self._dedup = DedupIndex(self._dir / "dedup.sqlite")
        self.spool_id: str = self._load_state().get("spool_id") or uuid.uuid4().hex[:12]
        self._registry = EndpointRegistry(stores.endpoints, self.spool_id)
        self._last_window_flush = 0.0
        self._last_prune = 0.0
        self.accepted_events = 0  # made durable since start
        self._accepted = AcceptedCount(self._dir)  # what earlier runs of this spool accepted
        self._recover()

    def _recover(self) -> None:
        """(Re)build the in-memory state from the last snapshot; the spool replay then redoes the rest."""
        state = self._load_state()
        self._position: int = state.get("position", 0)
        self._windows = Windows(self.config.period_ms, self.config.lateness_ms)
        for item in state.get("windows", []):
            self._windows.endpoints[(item["project"], item["uid"])] = EndpointWindows.from_json(item["state"])
        self._archive = ArchiveBuffer(self.config.archive_url, self.spool_id)
        # Endpoints folded but not yet written to their records; kept in the snapshot, because a rebuild
        # replays only records after its position and would otherwise never write these.
        self._touched: set[tuple[str, str]] = {(p, u) for p, u in state.get("touched", [])}
        self._poison.restore(state.get("skipped", []))
        pending = state.get("pending")
        if pending:
            self._redo_archive(pending["from"], pending["to"])
        self._reader = SpoolReader(self.spool.directory, self._position)

    # -- durability -------------------------------------------------------------------------------------

    def submit(self, events: Sequence[NormalEvent]) -> int:
        """Make a validated batch durable; after this returns the batch survives a crash. Blocking (fsync)."""
        if not events:
            return 0
        seq = self.spool.append(events_record(events))
        self.accepted_events += len(events)
        self._wake.set()
        return seq

    def submit_raw(self, project: str, batch: bytes, count: int = 0, batch_id: str | None = None) -> int:
        """Make a batch durable as the client sent it (see ``raw_record``)."""
        seq = self.spool.append(raw_record(project, batch))
        self.accepted_events += count
        self._wake.set()
        return seq

    @property
    def accepted_total(self) -> int:
        """Events this spool has accepted over all its runs."""
        return self._accepted.base + self.accepted_events

    def accepted_all_spools(self) -> int:
        """Events accepted by every process sharing the spool directory (this one live, the others from
        their count files): what /metrics reports, so gateways in other processes are counted too."""
        return accepted_in(self.config.spool_dir, {self._dir: self.accepted_total})

    def backlog_records(self) -> int:
        """Spool records written but not yet folded into the stores."""
        return max(0, self.spool.next_seq - 1 - self._position)

    def _state_path(self) -> Path:
        return self._dir / "state.json"

    def _load_state(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self._state_path().read_text())
            return data
        except FileNotFoundError:
            return {}

    def _save_state(self, pending: dict[str, int] | None) -> None:
        state = {
            "spool_id": self.spool_id,
            "position": self._position,
            "pending": pending,
            "touched": sorted(self._touched),
            "skipped": sorted(self._poison.skipped),
            "windows": [
                {"project": p, "uid": u, "state": ep.to_json()} for (p, u), ep in self._windows.endpoints.items()
            ],
        }
        tmp = self._state_path().with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(orjson.dumps(state))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._state_path())

    # -- the fold -------------------------------------------------------------------------------------------

    def _decode(self, records: Sequence[tuple[int, bytes]]) -> list[tuple[int, NormalEvent]]:
        """The events of spool records that are first occurrences of their request_id, each with its record's
        sequence number. Several records at once: one dedup transaction for all of them."""
        decoded = [
            (seq, index, event) for seq, payload in records for index, event in enumerate(decode_record(payload))
        ]
        keys = [(e.project, e.request_id, seq << _POSITION_BITS | i) for seq, i, e in decoded]
        firsts = self._dedup.first_occurrences(keys)
        fresh = [(seq, e) for (seq, _, e), first in zip(decoded, firsts, strict=True) if first]
        for _, event in fresh:
            event.feature_names = self._registry.feature_names(event)
        return fresh

    def _apply(self, events: list[tuple[int, NormalEvent]]) -> None:
        samples: dict[tuple[str, str], list[Point]] = defaultdict(list)
        every = max(self.config.sample_window, 1)
        for seq, event in events:
            key = (event.project, event.endpoint_uid)
            state = self._windows.add(
                event.project,
                event.endpoint_uid,
                event.timestamp,
                max(len(event.rows), 1),
                event.latency,
                event.error is not None,
            )
            for row in event.rows:
                state.rows_seen += 1
                if state.rows_seen % every == 0:
                    samples[key].extend(
                        Point(name, event.timestamp, float(value))
                        for name, value in zip(event.feature_names, row, strict=False)
                        if isinstance(value, int | float) and not isinstance(value, bool)
                    )
            self._touched.add(key)
            self._archive.add(seq, event)
        for (project, uid), points in samples.items():
            self._stores.series.write(project, uid, SeriesKind.feature, points)

    def _redo_archive(self, first: int, last: int) -> None:
        """Finish an archive flush a crash interrupted: same spool range, same file names (overwritten)."""
        reader = SpoolReader(self.spool.directory, first - 1)
        while True:
            records = [(s, p) for s, p in reader.read() if s <= last]
            for seq, event in self._decode(records):
                self._archive.add(seq, event)
            if not records or records[-1][0] >= last:
                break
        self._archive.flush()
        self._save_state(None)

    def import_inbox(self, max_records: int = 1000) -> int:
        """Copy what other processes accepted into this spool (see ``grafana_proxy.ingest.inbox``); the
        accepted-events count of an exited writer's inbox carries on in this spool's count."""
        with self._work:
            copied = self._inbox.run(max_records)
            if self._inbox.retired_accepted:
                self._accepted.base += self._inbox.retired_accepted
                self._inbox.retired_accepted = 0
                self._accepted.save(self.accepted_total)
            return copied

    def process_available(self, max_records: int = 200) -> int:
        """Fold up to ``max_records`` new spool records; return how many were read.

        Records are folded in groups (the gateway spools a few calls per record): one dedup transaction and
        one series write per endpoint for the group instead of per record. A group that fails for any reason
        but an outage sends the fold back to its snapshot (see ``poison``) and is folded again record by
        record; a record that keeps failing is dead-lettered and skipped."""
        with self._work:
            records = self._reader.read(max_records)
            for group in self._poison.groups(records, _GROUP_BYTES):
                live = [record for record in group if record[0] not in self._poison.skipped]
                try:
                    if live:
                        self._apply(self._decode(live))
                except Exception as exc:
                    if is_transient(exc):
                        self._recover()  # back to the snapshot: the next call folds this group again
                        raise
                    dead = self._poison.failed(live, exc)
                    if dead is not None:
                        # Its request_ids were never applied: a client's retry (or a replay) is then new.
                        self._dedup.forget_positions(dead << _POSITION_BITS, (dead + 1) << _POSITION_BITS)
                    self._recover()
                    return max(len(records), 1)
                self._position = group[-1][0]
            return len(records)

    def flush_windows(self, now_ms: int | None = None) -> int:
        """Write due window points and record updates; return the number of points written."""
        now_ms = self._clock() if now_ms is None else now_ms
        with self._work:
            emitted = self._windows.emit(now_ms)
            written = 0
            for (project, uid), (points, _) in emitted.items():
                written += self._poison.write_window(
                    project, uid, points, partial(self._write_metrics, project, uid, points)
                )
            for key in self._touched | set(emitted):
                state = self._windows.state(*key)
                if state is not None:
                    try:
                        self._registry.update(key[0], key[1], state, emitted.get(key, ([], None))[1])
                    except Exception as exc:
                        if is_transient(exc):
                            raise
                        # Totals are absolute values: the endpoint's next flush writes them again; one
                        # record that refuses them must not stop the others.
                        log.error("endpoint record %s/%s not updated: %s: %s", *key, type(exc).__name__, exc)
            self._touched.clear()
            self._last_window_flush = time.monotonic()
            return written

    def _write_metrics(self, project: str, uid: str, points: list[Point]) -> int:
        return self._stores.series.write(project, uid, SeriesKind.metric, points)

    def dead_lettered(self) -> int:
        """Records (and window point sets) moved to the dead-letter store since this process started."""
        return self._poison.dead_lettered

    def replay_requested(self) -> int:
        """Put dead letters an operator asked to replay back into the fold: spool records are appended to
        the spool again (a new position, so their request_ids count as new), window points are written.
        Returns how many were taken."""
        letters = self._poison.letters.take_replays(self.dead_letter_source)
        for letter in letters:
            window = window_points(letter)
            if window is None:
                self.spool.append(letter.payload)
                self._wake.set()
            else:
                self._write_metrics(*window)
            self._poison.letters.remove([letter.id])
        return len(letters)

    def flush_archive(self) -> None:
        """Write buffered rows to the archive and snapshot; drops spool segments that are then redundant."""
        with self._work:
            first = self._archive.first_seq
            if first is not None:
                pending = {"from": first, "to": self._position}
                self._save_state(pending)
                self.spool.drop_before(first)
                self._archive.flush()
            self._poison.prune(self._position)
            self._save_state(None)
            self.spool.drop_before(self._position + 1)

    def drain(self, now_ms: int | None = None) -> None:
        """Process everything spooled so far and flush windows and archive (tests, shutdown)."""
        with self._work:
            while self.import_inbox() + self.process_available(1000):
                pass
            self.flush_windows(now_ms)
            self.flush_archive()

    # -- the worker -------------------------------------------------------------------------------------------

    def _archive_due(self) -> bool:
        age = self._archive.age_seconds()
        return self._archive.size >= self.config.archive_batch_events or (
            age is not None and age >= self.config.archive_batch_seconds
        )

    def _step(self) -> None:
        # Import no more than a step folds: the copied records are held in memory until their fsync, and
        # 100 events-API batches at once raised the ingest role's peak by ~25 MB without folding faster.
        self.import_inbox(_STEP_RECORDS)
        if time.monotonic() - self._last_replay_check >= _REPLAY_CHECK_SECONDS:
            self._last_replay_check = time.monotonic()
            self.replay_requested()
        read = self.process_available(_STEP_RECORDS)
        if time.monotonic() - self._last_window_flush >= self.config.window_period_seconds:
            self.flush_windows()
        if self._archive_due():
            self.flush_archive()
        if time.monotonic() - self._last_prune > 3600:
            self._dedup.prune(self._clock() - int(self.config.dedup_retention_hours * 3_600_000))
            self._last_prune = time.monotonic()
        self._accepted.save(self.accepted_total)
        if not read:
            self._wake.wait(0.2)
            self._wake.clear()
        elif read < _STEP_RECORDS:
            # Caught up: let the next records gather for a moment. Each fold step has a fixed cost (a dedup
            # transaction, a series write per endpoint) that would otherwise be paid per small record, on
            # the same GIL as the request path.
            self._stop.wait(_FOLD_PAUSE_SECONDS)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception:
                # The spool keeps everything; a store outage only delays the fold. Back off and retry.
                log.exception("ingest pipeline step failed; retrying")
                self._stop.wait(2.0)
                try:
                    with self._work:
                        self._recover()
                except Exception:
                    log.exception("ingest pipeline recovery failed; retrying")

    def start(self) -> None:
        if self._thread is None:
            self._last_window_flush = time.monotonic()
            self._thread = threading.Thread(target=self._run, name="ingest-pipeline", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the worker and fold what is spooled (the spool keeps it anyway if this fails). Idempotent."""
        if self._lock_file.closed:
            return
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        try:
            self.drain()
        finally:
            self._accepted.save(self.accepted_total)
            self.spool.close()
            self._dedup.close()
            self._lock_file.close()
