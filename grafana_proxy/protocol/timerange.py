"""Time at the edge: the range a Grafana request asks for (the forms it may be written in are read by
``grafana_proxy.clock.parse_time``), and the bucket size a panel can show."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from grafana_proxy import clock
from grafana_proxy.buckets import nice_step
from grafana_proxy.clock import now_ms
from grafana_proxy.model import TimeRange
from grafana_proxy.targets.base import TargetError

DEFAULT_SPAN_MS = 3_600_000  # missing range -> the last hour
# A step longer than a century only ever makes one bucket anyway.
MAX_STEP_MS = 100 * 366 * 86_400_000


def parse_time(value: Any, *, now: int, field: str = "time") -> int:
    """Epoch ms from any accepted form (``grafana_proxy.clock.parse_time``); a TargetError (400) naming
    ``field`` otherwise."""
    try:
        return clock.parse_time(value, now=now, field=field)
    except clock.InvalidTime as error:
        raise TargetError(str(error)) from None


def _pair(source: Mapping[str, Any] | None, *, now: int, origin: str) -> TimeRange | None:
    if not isinstance(source, Mapping):
        return None
    start, end = source.get("from"), source.get("to")
    if start in (None, "") and end in (None, ""):
        return None
    start_ms = parse_time(start, now=now, field=f"{origin}.from") if start not in (None, "") else None
    end_ms = parse_time(end, now=now, field=f"{origin}.to") if end not in (None, "") else now
    if start_ms is None:
        start_ms = end_ms - DEFAULT_SPAN_MS
    if end_ms < start_ms:
        raise TargetError(f"{origin}: 'to' ({end}) is before 'from' ({start})")
    return TimeRange(start_ms, end_ms)


def resolve_range(*sources: tuple[str, Mapping[str, Any] | None], now: int | None = None) -> TimeRange:
    """The first source that carries from/to wins; none -> the last hour up to now.

    Sources are (name, mapping) pairs in priority order, e.g. Grafana's ``range`` then ``rangeRaw``,
    then the body's own ``from``/``to`` (Infinity), the target string and the query parameters."""
    current = now_ms() if now is None else now
    for origin, source in sources:
        found = _pair(source, now=current, origin=origin)
        if found is not None:
            return found
    return TimeRange(current - DEFAULT_SPAN_MS, current)


def resolve_step(time_range: TimeRange, interval_ms: float | None, max_points: int, cap: int) -> tuple[int, int]:
    """(step_ms, max_points): buckets honour ``intervalMs`` and never exceed ``maxDataPoints``
    (itself capped at ``cap``, Prometheus' 11,000 points per series)."""
    points = max(1, min(max_points, cap))
    step = max(1, math.ceil(time_range.span / points))
    if interval_ms is not None and interval_ms > 0:  # NaN compares false: ignored like a missing value
        step = max(step, int(math.ceil(min(interval_ms, MAX_STEP_MS))))
    # Round up to a round step so buckets start on round times whatever the range (a point written at
    # 12:00:00 is drawn at 12:00:00); a larger step only means fewer points.
    return nice_step(step, 1), points
