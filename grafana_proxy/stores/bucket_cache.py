"""Aggregated buckets of a series query kept between requests, valid across processes.

A dashboard re-asks for the same series, tier, step and aggregation every refresh; only its newest
buckets can have changed. A bucket is *closed* when it ends before the start of the tier bucket that
holds the series' newest point (``series.last_ts``): a later write either appends after ``last_ts``
(it cannot reach a closed bucket) or lands at or before it, and then bumps ``series.rev``. So cached
buckets are served while the ``rev`` read with the series lookup is the one they were computed under,
whichever process wrote in between; only the buckets from the first open one on are read again."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from grafana_proxy.stores.rollup import FloatArray, IntArray

CacheKey = tuple[int, str, int, str]  # series id, tier table, step, aggregation
DEFAULT_MAX_BUCKETS = 500_000  # ~8 MB of arrays; a 1,000-point panel costs 1,000


@dataclass(frozen=True)
class Entry:
    rev: int
    low: int  # first bucket start covered
    high: int  # end of the covered buckets (a step multiple); every bucket below it is closed
    buckets: IntArray
    values: FloatArray


def closed_until(last_ts: int | None, tier_size: int, step: int) -> int | None:
    """End of the closed buckets of a series whose newest point is at ``last_ts`` (None: no point yet).
    Tier rows are keyed by their bucket start, so a point after ``last_ts`` can still land in the tier
    bucket holding ``last_ts``; step buckets are multiples of the tier size."""
    if last_ts is None:
        return None
    edge = last_ts - last_ts % tier_size
    return edge - edge % step


class BucketCache:
    """An LRU of ``Entry`` bounded by the number of buckets held; safe to share between threads."""

    def __init__(self, max_buckets: int = DEFAULT_MAX_BUCKETS) -> None:
        self.max_buckets = max_buckets
        self._entries: OrderedDict[CacheKey, Entry] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: CacheKey, rev: int, low: int) -> Entry | None:
        """The entry of ``key`` computed under ``rev`` that covers buckets from ``low`` on."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.rev != rev:
                self._drop(key)
                return None
            if entry.low > low:
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: CacheKey, entry: Entry) -> None:
        if len(entry.buckets) > self.max_buckets:
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = entry
            self._size += len(entry.buckets)
            while self._size > self.max_buckets:
                self._drop(next(iter(self._entries)))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0

    def _drop(self, key: CacheKey) -> None:
        entry = self._entries.pop(key)
        self._size -= len(entry.buckets)


def split(entry: Entry | None, low: int, high: int, step: int) -> int:
    """Where the database read of one series starts: after the cached buckets that lie wholly inside
    [low, high), or at ``low`` without a usable entry."""
    if entry is None:
        return low
    return max(low, min(entry.high, high - high % step))


def cached_part(entry: Entry, low: int, until: int) -> tuple[IntArray, FloatArray]:
    """The cached buckets in [low, until)."""
    first, last = np.searchsorted(entry.buckets, [low, until])
    return entry.buckets[first:last], entry.values[first:last]
