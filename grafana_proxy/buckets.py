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
    return nice_step(max(safe, step), size)


# Steps a widened range is rounded up to, so bucket starts fall on round times (a point written at 12:00:00
# is shown at 12:00:00, not 11 ms before): 1-2-5 below a second, then the steps Grafana's own intervals use.
_NICE_MS: tuple[int, ...] = (
    *(m * 10**e for e in range(3) for m in (1, 2, 5)),
    *(s * 1000 for s in (1, 2, 5, 10, 15, 30)),
    *(m * 60_000 for m in (1, 2, 5, 10, 15, 30)),
    *(h * 3_600_000 for h in (1, 2, 3, 6, 12, 24)),
)


def nice_step(step: int, size: int) -> int:
    """The smallest round step >= ``step`` that is a multiple of the tier ``size``; past a day, whole days
    (or multiples of ``size``)."""
    for candidate in _NICE_MS:
        if candidate >= step and candidate % size == 0:
            return candidate
    unit = max(size, 86_400_000) if 86_400_000 % size == 0 else size
    return -(-step // unit) * unit
