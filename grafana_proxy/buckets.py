"""How many step-aligned buckets a time range touches, and the step that keeps them within a budget.

Buckets start at multiples of the step (so a refreshed panel shows the same buckets). A range that starts
inside a bucket therefore touches a partial bucket at each end: with ``step = ceil(span / points)`` that is
``points + 1`` buckets, one more than Grafana's ``maxDataPoints`` allows. Times are in ``[start, end)``, as
the stores read them."""

from __future__ import annotations

from grafana_proxy.model import TimeRange


def bucket_count(time_range: TimeRange, step: int) -> int:
    """Buckets of ``step`` (aligned to multiples of it) that times in ``[start, end)`` fall into."""
    if time_range.end <= time_range.start:
        return 0
    return (time_range.end - 1) // step - time_range.start // step + 1


def fit_step(time_range: TimeRange, step: int, size: int, max_points: int) -> int:
    """``step`` (a multiple of ``size``) or the smallest larger multiple of ``size`` tried here that keeps
    the range within ``max_points`` buckets. A range of span S touches at most floor((S - 1) / s) + 2 buckets
    of step s, so s = (S - 1) // (max_points - 1) + 1, rounded up to the tier size, always fits."""
    if bucket_count(time_range, step) <= max_points:
        return step
    if max_points <= 1:
        safe = time_range.end  # a single bucket [0, step) holds every time before the end
    else:
        safe = (time_range.span - 1) // (max_points - 1) + 1
    safe = max(safe, step)
    return -(-safe // size) * size
