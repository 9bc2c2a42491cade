"""The stream fold: what one ingest process does with event-log messages when several processes (on several
machines) share one stream. The state lives in the database (``FoldStore``), not in the process:

- ``fold`` decodes a group of messages and, in one transaction, records their request ids and adds the
  first occurrences to the endpoints' window buckets and totals. Every event is keyed by its position
  (stream sequence << 20 | index in the message), so a message delivered again after a crash finds its own
  events already counted (nothing is added twice) and still gets its archive rows and feature samples
  written, which are idempotent: samples are chosen by a hash of the request id (the same points again),
  series points are keyed by time.
- ``emit`` claims endpoints whose window points are due (or whose totals are newer than their record) and
  writes the points from the merged buckets with ``emit_points``, the same math as the embedded spool's
  windows; one process at a time per endpoint (claims with a lease in the database)."""

from __future__ import annotations

import logging
import zlib
from collections import defaultdict
from collections.abc import Sequence
from functools import partial

from grafana_proxy.clock import Clock, now_ms
from grafana_proxy.ingest.config import IngestConfig
from grafana_proxy.ingest.poison import PoisonGuard, is_transient
from grafana_proxy.ingest.records import decode_record
from grafana_proxy.ingest.registry import EndpointRegistry
from grafana_proxy.ingest.windows import WINDOW_1H, Bucket, EndpointWindows, bucket_start, emit_points, horizon_of
from grafana_proxy.model import NormalEvent, SeriesKind
from grafana_proxy.stores.base import FoldItem, Point, Stores, WindowMark

log = logging.getLogger(__name__)
POSITION_BITS = 20  # event position = stream sequence << 20 | index in the message (batches are far smaller)
_CLAIM_LIMIT = 100
Message = tuple[int, bytes]  # stream sequence, payload (a spool record)


def sampled(request_id: str, row: int, every: int) -> bool:
    """Whether a row's feature values become feature-series points: a stable hash, so a message folded
    again (redelivery, another process) picks the same rows."""
    return every <= 1 or zlib.crc32(f"{request_id}\x00{row}".encode()) % every == 0


def _item(event: NormalEvent, position: int, period_ms: int) -> FoldItem:
    bucket = Bucket()
    bucket.add(max(len(event.rows), 1), event.latency, event.error is not None)
    return FoldItem(
        project=event.project,
        request_id=event.request_id,
        position=position,
        endpoint_uid=event.endpoint_uid,
        timestamp=event.timestamp,
        bucket_start=bucket_start(event.timestamp, period_ms),
        count=bucket.count,
        latency_sum=bucket.latency_sum,
        latency_n=bucket.latency_n,
        errors=bucket.errors,
    )


class MergedFold:
    """``owner`` names this process in emission claims; ``source`` is its dead-letter source (shared by
    every process of the stream), also the key of the stream's error base on endpoint records."""

    def __init__(
        self,
        config: IngestConfig,
        stores: Stores,
        owner: str,
        source: str,
        clock: Clock = now_ms,
        lease_ms: int = 120_000,
    ) -> None:
        self.config = config
        self._stores = stores
        self._owner = owner
        self._clock = clock
        self._lease_ms = max(lease_ms, 4 * config.period_ms)
        self._registry = EndpointRegistry(stores.endpoints, source)
        self.poison = PoisonGuard(stores.dead_letters, source, config.ingest_max_attempts)
        self.fresh_events = 0  # counted by this process (tests, benchmarks)

    # -- folding ----------------------------------------------------------------------------------------

    def fold(self, messages: Sequence[Message]) -> list[tuple[int, NormalEvent]]:
        """Fold messages in one transaction; return their own events (first occurrences at their positions)
        with their stream sequence, for the archive. Raises on a message that cannot be decoded or applied."""
        period = self.config.period_ms
        decoded = [
            (seq, index, event) for seq, payload in messages for index, event in enumerate(decode_record(payload))
        ]
        for _, _, event in decoded:
            # Registered before the fold commits, so an emitter never writes a record without its names.
            event.feature_names = self._registry.feature_names(event)
        items = [_item(event, seq << POSITION_BITS | index, period) for seq, index, event in decoded]
        outcome = self._stores.folds.fold(items, self._clock())
        self.fresh_events += sum(outcome.fresh)
        own = [(seq, event) for (seq, _, event), mine in zip(decoded, outcome.own, strict=True) if mine]
        self._write_samples([event for _, event in own])
        return own

    def _write_samples(self, events: Sequence[NormalEvent]) -> None:
        every = max(self.config.sample_window, 1)
        samples: dict[tuple[str, str], list[Point]] = defaultdict(list)
        for event in events:
            for row, values in enumerate(event.rows):
                if sampled(event.request_id, row, every):
                    samples[(event.project, event.endpoint_uid)].extend(
                        Point(name, event.timestamp, float(value))
                        for name, value in zip(event.feature_names, values, strict=False)
                        if isinstance(value, int | float) and not isinstance(value, bool)
                    )
        for (project, uid), points in samples.items():
            self._stores.series.write(project, uid, SeriesKind.feature, points)

    # -- emitting ---------------------------------------------------------------------------------------

    def emit(self, now_ms: int | None = None, ready_ms: int | None = None) -> int:
        """Write the due window points and record updates of every endpoint this process can claim; return
        the number of points written. ``ready_ms``: every batch accepted before it has been folded (the
        stream's watermark); a point is final once written, so none is written for a period ending after
        it, whatever the clock says (a backlog would otherwise freeze partial counts)."""
        now_ms = self._clock() if now_ms is None else now_ms
        until = now_ms if ready_ms is None else min(now_ms, ready_ms)
        horizon = horizon_of(until, self.config.period_ms, self.config.lateness_ms)
        written = 0
        while True:
            marks = self._stores.folds.claim(
                self._owner, now_ms, horizon, self.config.period_ms, WINDOW_1H, self._lease_ms, _CLAIM_LIMIT
            )
            for mark in marks:
                written += self._emit_one(mark, horizon)
            if len(marks) < _CLAIM_LIMIT:
                return written

    def _emit_one(self, mark: WindowMark, horizon: int) -> int:
        project, uid = mark.project, mark.endpoint_uid
        stored = self._stores.folds.buckets(project, uid)
        buckets = {start: Bucket(*values) for start, values in stored.items()}
        points, live, until = emit_points(buckets, mark.emitted_until, horizon, self.config.period_ms)
        written = 0
        if points:
            write = partial(self._stores.series.write, project, uid, SeriesKind.metric, points)
            written = self.poison.write_window(project, uid, points, write)
        state = EndpointWindows(
            error_count=mark.error_count, first_request=mark.first_request, last_request=mark.last_request
        )
        try:
            self._registry.forget_record(project, uid)
            self._registry.update(project, uid, state, live)
        except Exception as exc:
            if is_transient(exc):
                raise  # the claim expires; this or another process emits the endpoint again
            log.error("endpoint record %s/%s not updated: %s: %s", project, uid, type(exc).__name__, exc)
        prune = None if until is None else until - WINDOW_1H
        if not self._stores.folds.release(self._owner, mark, until, prune):
            log.warning("emission claim of %s/%s expired before it was released", project, uid)
        return written

    def prune_request_ids(self) -> int:
        cutoff = self._clock() - int(self.config.dedup_retention_hours * 3_600_000)
        return self._stores.folds.prune(cutoff)
