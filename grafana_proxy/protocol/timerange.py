"""Time at the edge: parse what Grafana and its plugins send into epoch milliseconds, and work out
the bucket size a panel can show.

Accepted forms: epoch milliseconds (number or digit string; values below 10^11 are taken as epoch
seconds, which is what ``${__from:date:seconds}`` gives), ISO-8601 (``Z`` or offset, with or without
fraction), and Grafana's relative expressions (``now``, ``now-6h``, ``now-7d/d``, ``now/w``)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from grafana_proxy.buckets import nice_step
from grafana_proxy.model import TimeRange
from grafana_proxy.targets.base import TargetError

DEFAULT_SPAN_MS = 3_600_000  # missing range -> the last hour
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
_RELATIVE = re.compile(r"^now(?P<ops>(?:[+-]\d+[smhdwMy])*)(?:/(?P<round>[smhdwMy]))?$")
_OP = re.compile(r"([+-])(\d+)([smhdwMy])")
_SECONDS_CUTOFF = 100_000_000_000  # 1973 in ms, year 5138 in s: anything smaller is seconds
# Times outside years 1..9999 cannot be formatted, and overflow the databases' 64-bit integers
# (a 500 before this bound); a step longer than a century only ever makes one bucket anyway.
MIN_MS = int(datetime(1, 1, 1, tzinfo=UTC).timestamp() * 1000)
MAX_MS = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp() * 1000)
MAX_STEP_MS = 100 * 366 * 86_400_000


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def _add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(
        moment.day,
        [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][
            month - 1
        ],
    )
    return moment.replace(year=year, month=month, day=day)


def _round_down(moment: datetime, unit: str) -> datetime:
    if unit == "y":
        return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "M":
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "w":
        start = moment - timedelta(days=moment.weekday())
        return start.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "d":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "h":
        return moment.replace(minute=0, second=0, microsecond=0)
    if unit == "m":
        return moment.replace(second=0, microsecond=0)
    return moment.replace(microsecond=0)


def _relative(text: str, now: int) -> int | None:
    match = _RELATIVE.match(text.replace(" ", ""))
    if match is None:
        return None
    moment = datetime.fromtimestamp(now / 1000, UTC)
    for sign, amount_text, unit in _OP.findall(match.group("ops") or ""):
        amount = int(amount_text) * (1 if sign == "+" else -1)
        if unit in _UNIT_MS:
            moment += timedelta(milliseconds=amount * _UNIT_MS[unit])
        else:
            moment = _add_months(moment, amount * (12 if unit == "y" else 1))
    if match.group("round"):
        moment = _round_down(moment, match.group("round"))
    return int(moment.timestamp() * 1000)


def parse_time(value: Any, *, now: int, field: str = "time") -> int:
    """Epoch ms from any accepted form; a TargetError (400) naming ``field`` otherwise."""
    try:
        result = _parse_time(value, now=now, field=field)
    except (OverflowError, ValueError):  # now-99999999999d, 1e300: beyond what a date can be
        result = MAX_MS + 1
    if not MIN_MS <= result <= MAX_MS:
        raise TargetError(f"{field}: {value!r} is outside the years 1 to 9999")
    return result


def _parse_time(value: Any, *, now: int, field: str) -> int:
    if isinstance(value, bool) or value is None:
        raise TargetError(f"{field}: expected epoch milliseconds, ISO-8601 or now-6h style, got {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise TargetError(f"{field}: time must be finite, got {value!r}")
        number = int(value)
        return number * 1000 if abs(number) < _SECONDS_CUTOFF else number
    if not isinstance(value, str):
        raise TargetError(f"{field}: expected a string or number, got {type(value).__name__}")
    text = value.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return _parse_time(float(text), now=now, field=field)
    relative = _relative(text, now)
    if relative is not None:
        return relative
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise TargetError(
            f"{field}: cannot read {text!r} as a time; use epoch milliseconds, ISO-8601 "
            "(2026-01-31T12:00:00Z) or a relative time such as now-6h"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


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
