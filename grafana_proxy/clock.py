"""The program's one clock, UTC epoch milliseconds, and reading times as they arrive at the edges.

Everything that asks "what time is it" takes a ``Clock`` (default ``now_ms``), so tests and the demo can
move time without patching. ``parse_time`` accepts epoch milliseconds (number or digit string; values
below 10^11 are taken as epoch seconds, which is what ``${__from:date:seconds}`` gives), ISO-8601 (``Z``
or offset, with or without fraction), and Grafana's relative expressions (``now``, ``now-6h``,
``now-7d/d``, ``now/w``)."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

Clock = Callable[[], int]

_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
_RELATIVE = re.compile(r"^now(?P<ops>(?:[+-]\d+[smhdwMy])*)(?:/(?P<round>[smhdwMy]))?$")
_OP = re.compile(r"([+-])(\d+)([smhdwMy])")
_SECONDS_CUTOFF = 100_000_000_000  # 1973 in ms, year 5138 in s: anything smaller is seconds
# Times outside years 1..9999 cannot be formatted, and overflow the databases' 64-bit integers.
MIN_MS = int(datetime(1, 1, 1, tzinfo=UTC).timestamp() * 1000)
MAX_MS = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp() * 1000)


class InvalidTime(ValueError):
    """A time that cannot be read; the message names the field and the accepted forms."""


def now_ms() -> int:
    """The current time, UTC epoch milliseconds."""
    return time.time_ns() // 1_000_000


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
    """Epoch ms from any accepted form; ``InvalidTime`` naming ``field`` otherwise."""
    try:
        result = _parse_time(value, now=now, field=field)
    except (OverflowError, ValueError):  # now-99999999999d, 1e300: beyond what a date can be
        result = MAX_MS + 1
    if not MIN_MS <= result <= MAX_MS:
        raise InvalidTime(f"{field}: {value!r} is outside the years 1 to 9999")
    return result


def _parse_time(value: Any, *, now: int, field: str) -> int:
    if isinstance(value, bool) or value is None:
        raise InvalidTime(f"{field}: expected epoch milliseconds, ISO-8601 or now-6h style, got {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise InvalidTime(f"{field}: time must be finite, got {value!r}")
        number = int(value)
        return number * 1000 if abs(number) < _SECONDS_CUTOFF else number
    if not isinstance(value, str):
        raise InvalidTime(f"{field}: expected a string or number, got {type(value).__name__}")
    text = value.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return _parse_time(float(text), now=now, field=field)
    relative = _relative(text, now)
    if relative is not None:
        return relative
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidTime(
            f"{field}: cannot read {text!r} as a time; use epoch milliseconds, ISO-8601 "
            "(2026-01-31T12:00:00Z) or a relative time such as now-6h"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
