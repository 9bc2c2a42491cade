"""Latency samples and their summary (median, p90, p99) in milliseconds."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): a value that was really observed, no interpolation, so a
    p99 over 100 samples is the second-largest sample rather than a blend of the two largest."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class Timing:
    samples_ms: tuple[float, ...]

    @property
    def median(self) -> float:
        return percentile(self.samples_ms, 50)

    @property
    def p90(self) -> float:
        return percentile(self.samples_ms, 90)

    @property
    def p99(self) -> float:
        return percentile(self.samples_ms, 99)

    def summary(self) -> dict[str, float | int]:
        return {
            "median_ms": round(self.median, 3),
            "p90_ms": round(self.p90, 3),
            "p99_ms": round(self.p99, 3),
            "min_ms": round(min(self.samples_ms), 3) if self.samples_ms else math.nan,
            "runs": len(self.samples_ms),
        }


def timed_ms(call: Callable[[], object]) -> tuple[float, object]:
    began = time.perf_counter()
    result = call()
    return (time.perf_counter() - began) * 1000.0, result


def interleave(calls: Sequence[Callable[[], object]], runs: int, warmup: int) -> list[Timing]:
    """Run each call in turn (A, B, A, B, ...) ``warmup`` times unmeasured, then ``runs`` times measured.
    Alternating means a slow moment of the machine hits both sides instead of one."""
    for _ in range(warmup):
        for call in calls:
            call()
    samples: list[list[float]] = [[] for _ in calls]
    for _ in range(runs):
        for index, call in enumerate(calls):
            elapsed, _result = timed_ms(call)
            samples[index].append(elapsed)
    return [Timing(tuple(s)) for s in samples]
