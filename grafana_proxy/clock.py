"""The program's one clock: UTC epoch milliseconds. Everything that asks "what time is it" takes a
``Clock`` (default ``now_ms``), so tests and the demo can move time without patching."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], int]


def now_ms() -> int:
    """The current time, UTC epoch milliseconds."""
    return time.time_ns() // 1_000_000
