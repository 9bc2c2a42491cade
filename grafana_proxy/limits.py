"""What a value must be for every backend, the archive and the JSON encoder to store it and give it back.

A value past these limits is refused at the edge (400/422 naming the field) rather than acknowledged and
then failing in the store:
- times: 1970-01-01T00:00:00Z <= t < 2100-01-01T00:00:00Z (epoch ms). Python's dates end at year 9999 and
  the archive partitions by date; nothing measured by a running model lies outside this range.
- numbers stored as series values or latencies: finite, |x| <= 1e18. Rollups keep sums of doubles; at
  this magnitude a sum of 10^280 values still fits a double, so no sum overflows on PostgreSQL or MariaDB
  (which refuse infinity), and squares taken by the drift statistics stay finite.
- nesting: JSON documents at most 32 levels deep (orjson reads 1,024 levels but writes only 254).
- size: an event holds at most 10,000 input rows and 10,000 feature names, on top of the request body
  limit (``max_body_bytes``)."""

from __future__ import annotations

import math
from typing import Any, Final

TIME_MIN_MS: Final = 0
TIME_MAX_MS: Final = 4_102_444_800_000  # 2100-01-01T00:00:00Z, exclusive
MAX_MAGNITUDE: Final = 1e18
MAX_DEPTH: Final = 32
MAX_ROWS: Final = 10_000
MAX_FEATURES: Final = 10_000


def time_problem(ms: int) -> str | None:
    if TIME_MIN_MS <= ms < TIME_MAX_MS:
        return None
    return f"time {ms} ms is outside 1970-01-01T00:00:00Z .. 2100-01-01T00:00:00Z"


def number_problem(value: float | int) -> str | None:
    """Why a number cannot be stored as a series value or latency, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number (not NaN or infinity)"
    if not -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:
        return f"number {value!r} is beyond the magnitude limit of 1e18"
    return None


def depth_problem(value: Any) -> str | None:
    """Why a JSON value is nested too deeply, or None (iterative: a hostile document cannot exhaust the stack)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= MAX_DEPTH:
            return f"JSON nested deeper than {MAX_DEPTH} levels"
        stack.extend((child, depth + 1) for child in children)
    return None
