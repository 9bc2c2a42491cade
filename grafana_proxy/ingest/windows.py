"""Stream windows: MLRun's live stats per endpoint, computed from event timestamps.

Per period end: predictions_count_5m/_1h, predictions_per_second, latency_avg_5m/_1h, error_count (failed
requests within the period) and error_rate (failed / all requests over the 5 minutes; requests, not rows, so
a failed batch call counts once).

Events are counted into period-sized buckets keyed by *event* time. A point for period end ``T`` covers the
buckets in ``[T - window, T)`` and is written once ``T`` is older than the allowed lateness, so late and
out-of-order events land in the window they belong to. An event later than that still counts toward every
point not yet written (and the record's totals); the series store ignores rewrites of a written point.

The state is plain data (``to_json``/``from_json``) so the pipeline can snapshot it with its spool position."""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from grafana_proxy import vocabulary as v
from grafana_proxy.stores.base import Point

WINDOW_5M = 300_000
WINDOW_1H = 3_600_000


@dataclass
class Bucket:
    count: int = 0  # predictions (rows)
    latency_sum: float = 0.0
    latency_n: int = 0
    errors: int = 0  # failed requests
    requests: int = 0  # events, the denominator of error_rate

    def add(self, rows: int, latency: float | None, error: bool) -> None:
        """Count one event carrying ``rows`` predictions."""
        self.count += rows
        self.errors += int(error)
        self.requests += 1
        if latency is not None:
            self.latency_sum += latency * rows
            self.latency_n += rows


def bucket_start(timestamp: int, period_ms: int) -> int:
    """Start of the period-sized bucket an event time falls in."""
    return timestamp - timestamp % period_ms


def horizon_of(now_ms: int, period_ms: int, lateness_ms: int) -> int:
    """The newest period end whose point may be written now (older than the allowed lateness)."""
    return (now_ms - lateness_ms) // period_ms * period_ms


@dataclass
class EndpointWindows:
    buckets: dict[int, Bucket] = field(default_factory=dict)
    emitted_until: int | None = None
    error_count: int = 0
    first_request: int | None = None
    last_request: int | None = None
    rows_seen: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "buckets": {
                str(k): [b.count, b.latency_sum, b.latency_n, b.errors, b.requests] for k, b in self.buckets.items()
            },
            "emitted_until": self.emitted_until,
            "error_count": self.error_count,
            "first_request": self.first_request,
            "last_request": self.last_request,
            "rows_seen": self.rows_seen,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EndpointWindows:
        # Snapshots from before error_rate had no request count: one request per prediction then.
        buckets = {
            int(k): Bucket(int(v[0]), float(v[1]), int(v[2]), int(v[3]), int(v[4] if len(v) > 4 else v[0]))
            for k, v in data["buckets"].items()
        }
        return cls(
            buckets=buckets,
            emitted_until=data["emitted_until"],
            error_count=data["error_count"],
            first_request=data["first_request"],
            last_request=data["last_request"],
            rows_seen=data["rows_seen"],
        )


@dataclass(frozen=True)
class LiveStats:
    """The values of the newest written point, copied onto the endpoint record."""

    predictions_count_5m: float
    predictions_count_1h: float
    predictions_per_second: float
    latency_avg_5m: float | None
    latency_avg_1h: float | None
    error_rate: float | None  # failed / all requests over the 5-minute window


class Windows:
    def __init__(self, period_ms: int, lateness_ms: int) -> None:
        self.period_ms = period_ms
        self.lateness_ms = lateness_ms
        self.endpoints: dict[tuple[str, str], EndpointWindows] = {}

    def state(self, project: str, uid: str) -> EndpointWindows | None:
        return self.endpoints.get((project, uid))

    def add(
        self,
        project: str,
        uid: str,
        timestamp: int,
        rows: int,
        latency: float | None,
        error: bool,
    ) -> EndpointWindows:
        """Count one event carrying ``rows`` predictions."""
        ep = self.endpoints.get((project, uid))
        if ep is None:
            ep = self.endpoints[(project, uid)] = EndpointWindows()
        ep.error_count += int(error)
        ep.first_request = timestamp if ep.first_request is None else min(ep.first_request, timestamp)
        ep.last_request = timestamp if ep.last_request is None else max(ep.last_request, timestamp)
        start = bucket_start(timestamp, self.period_ms)
        # A bucket older than every point still to be written can no longer change any point.
        if ep.emitted_until is not None and start + WINDOW_1H < ep.emitted_until:
            return ep
        ep.buckets.setdefault(start, Bucket()).add(rows, latency, error)
        return ep

    def emit(self, now_ms: int) -> dict[tuple[str, str], tuple[list[Point], LiveStats | None]]:
        """Points for every period end that is now past the lateness horizon, per endpoint, and the live
        stats of the newest one. Advances the emitted mark and forgets buckets no future point needs."""
        horizon = horizon_of(now_ms, self.period_ms, self.lateness_ms)
        out: dict[tuple[str, str], tuple[list[Point], LiveStats | None]] = {}
        for key, ep in self.endpoints.items():
            points, live = self._emit_one(ep, horizon)
            if points:
                out[key] = (points, live)
        return out

    def _emit_one(self, ep: EndpointWindows, horizon: int) -> tuple[list[Point], LiveStats | None]:
        points, live, ep.emitted_until = emit_points(ep.buckets, ep.emitted_until, horizon, self.period_ms)
        if ep.emitted_until is not None:
            for s in [s for s in ep.buckets if s + WINDOW_1H < ep.emitted_until]:
                del ep.buckets[s]
        return points, live


def emit_points(
    buckets: Mapping[int, Bucket], emitted_until: int | None, horizon: int, period: int
) -> tuple[list[Point], LiveStats | None, int | None]:
    """The points of every period end after ``emitted_until`` up to ``horizon`` from an endpoint's buckets
    (keyed by start), the live stats of the newest one and the new emitted mark. Buckets whose start is
    more than an hour before the new mark can no longer change a point: the caller may forget them."""
    if not buckets:
        return [], None, emitted_until
    starts = sorted(buckets)
    cum = [(0, 0.0, 0, 0, 0)]
    for s in starts:
        b, (c, ls, ln, e, r) = buckets[s], cum[-1]
        cum.append((c + b.count, ls + b.latency_sum, ln + b.latency_n, e + b.errors, r + b.requests))

    def window(end: int, span: int) -> tuple[int, float, int, int, int]:
        lo, hi = (
            bisect.bisect_left(starts, end - span),
            bisect.bisect_left(starts, end),
        )
        a, z = cum[lo], cum[hi]
        return z[0] - a[0], z[1] - a[1], z[2] - a[2], z[3] - a[3], z[4] - a[4]

    t = starts[0] + period if emitted_until is None else emitted_until + period
    last = min(horizon, starts[-1] + WINDOW_1H + period)  # after an hour of silence every value is 0
    points: list[Point] = []
    live: LiveStats | None = None
    while t <= last:
        c1h, lsum1h, ln1h, _, _ = window(t, WINDOW_1H)
        if c1h == 0 and window(t - period, WINDOW_1H)[0] == 0:
            # Nothing within the hour before t (and the zeros were written already): jump to the next
            # bucket instead of writing zeros through every silent period.
            nxt = bisect.bisect_left(starts, t)
            if nxt >= len(starts):
                break
            t = starts[nxt] + period
            continue
        c5, lsum5, ln5, errors5, requests5 = window(t, WINDOW_5M)
        errors = window(t, period)[3]
        live = LiveStats(
            predictions_count_5m=float(c5),
            predictions_count_1h=float(c1h),
            predictions_per_second=c5 / 300.0,
            latency_avg_5m=lsum5 / ln5 if ln5 else None,
            latency_avg_1h=lsum1h / ln1h if ln1h else None,
            error_rate=errors5 / requests5 if requests5 else None,
        )
        points.extend(
            Point(name, t, value)
            for name, value in (
                (v.PREDICTIONS_COUNT_5M, live.predictions_count_5m),
                (v.PREDICTIONS_COUNT_1H, live.predictions_count_1h),
                (v.PREDICTIONS_PER_SECOND, live.predictions_per_second),
                (v.LATENCY_AVG_5M, live.latency_avg_5m),
                (v.LATENCY_AVG_1H, live.latency_avg_1h),
                (v.ERROR_COUNT, float(errors)),
                (v.ERROR_RATE, live.error_rate),
            )
            if value is not None
        )
        emitted_until = t
        t += period
    return points, live, emitted_until
