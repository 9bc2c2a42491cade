"""Series store on every backend: tiers, bucketing, aggregates, idempotence, ordering, retention.

A fixed clock makes "now" deterministic; ``NOW`` is a day boundary so every bucket size aligns."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sqlalchemy import delete, func, select

from grafana_proxy.model import SeriesKind, TimeRange
from grafana_proxy.settings import Settings
from grafana_proxy.stores import schema
from grafana_proxy.stores.base import Point, Stores
from grafana_proxy.stores.series import SqlSeriesStore

MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR
NOW = 1_795_305_600_000  # 2026-11-23T00:00:00Z
METRIC = SeriesKind.metric


@pytest.fixture
def series(stores: Stores) -> SqlSeriesStore:
    """A series store on the fixture's database with a fixed clock and the default retention."""
    return SqlSeriesStore(stores.series.db, Settings().retention_ms(), clock=lambda: NOW)  # type: ignore[attr-defined]


def _count(series: SqlSeriesStore, table: object) -> int:
    with series.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _minutes(start: int, n: int, name: str = "m") -> list[Point]:
    return [Point(name, start + i * MIN, float(i)) for i in range(n)]


def test_raw_buckets_and_every_aggregate(series: SqlSeriesStore) -> None:
    start = NOW - DAY
    assert series.write("p", "e", METRIC, _minutes(start, 60)) == 60
    rng = TimeRange(start, start + HOUR)
    expect = {
        "avg": [2.0, 7.0],
        "min": [0.0, 5.0],
        "max": [4.0, 9.0],
        "sum": [10.0, 35.0],
        "count": [5.0, 5.0],
        "last": [4.0, 9.0],
    }
    for agg, first_two in expect.items():
        (data,) = series.query("p", ["e"], METRIC, ["m"], rng, 5 * MIN, agg)  # type: ignore[arg-type]
        assert data.times[:2] == [start, start + 5 * MIN]
        assert data.values[:2] == first_two, agg
        assert len(data.times) == 12


def test_tier_buckets_match_raw_aggregates(series: SqlSeriesStore) -> None:
    start = NOW - 2 * DAY
    series.write("p", "e", METRIC, [Point("m", start + i * MIN, float(i % 50)) for i in range(2 * 24 * 60)])
    rng = TimeRange(start, start + 2 * DAY)
    for agg in ("avg", "min", "max", "sum", "count", "last"):
        for step, tier in ((5 * MIN, "raw"), (10 * MIN, "10m"), (HOUR, "1h"), (DAY, "1d")):
            assert series.choose_tier(rng, step)[0] == tier
            (got,) = series.query("p", ["e"], METRIC, ["m"], rng, step, agg)
            raw_points = np.array([i % 50 for i in range(2 * 24 * 60)], dtype=float).reshape(-1, step // MIN)
            want = {
                "avg": raw_points.mean(1),
                "min": raw_points.min(1),
                "max": raw_points.max(1),
                "sum": raw_points.sum(1),
                "count": np.full(len(raw_points), step // MIN),
                "last": raw_points[:, -1],
            }[agg]
            assert got.values == pytest.approx(want.tolist()), (agg, tier)
            assert got.times == [start + k * step for k in range(len(raw_points))]


def test_step_rounds_up_to_tier_size_and_aligns(series: SqlSeriesStore) -> None:
    rng = TimeRange(NOW - DAY + 7 * MIN, NOW)
    assert series.choose_tier(rng, 7 * MIN)[::3] == ("raw", 7 * MIN)
    assert series.choose_tier(rng, 25 * MIN)[::3] == ("10m", 30 * MIN)
    assert series.choose_tier(rng, 90 * MIN)[::3] == ("1h", 2 * HOUR)
    assert series.choose_tier(rng, 36 * HOUR)[::3] == ("1d", 2 * DAY)
    series.write("p", "e", METRIC, _minutes(NOW - DAY, 24 * 60))
    (data,) = series.query("p", ["e"], METRIC, ["m"], rng, 25 * MIN)
    # maxDataPoints math: 1 day / 30 min = 48 buckets; the first starts at the range start rounded down.
    assert len(data.times) == 48 and data.times[0] == NOW - DAY
    assert all(t % (30 * MIN) == 0 for t in data.times)
    with pytest.raises(ValueError, match="step"):
        series.query("p", ["e"], METRIC, ["m"], rng, 0)
    with pytest.raises(ValueError, match="median"):
        series.query("p", ["e"], METRIC, ["m"], rng, MIN, "median")  # type: ignore[arg-type]


def test_30_day_query_reads_the_10m_tier_not_raw(series: SqlSeriesStore) -> None:
    start = NOW - 30 * DAY
    times = np.arange(start, NOW, MIN, dtype=np.int64)
    values = (times // MIN % 100).astype(np.float64)
    assert series.write_arrays("p", "e", METRIC, "m", times, values) == len(times)
    # Only the last 8 days (raw retention) reached the raw table.
    assert _count(series, schema.points) == 8 * 24 * 60
    with series.db.write() as conn:  # remove every raw point: a 30-day answer must not need them
        conn.execute(delete(schema.points))
    rng = TimeRange(start, NOW)
    assert series.choose_tier(rng, 30 * MIN)[0] == "10m"
    (data,) = series.query("p", ["e"], METRIC, ["m"], rng, 30 * MIN)
    assert len(data.times) == 30 * 48
    assert data.values == pytest.approx(values.reshape(-1, 30).mean(1).tolist())
    # A 1-minute step over 30 days starts before the raw retention: the 10m tier answers.
    assert series.choose_tier(rng, MIN)[:1] == ("10m",)
    assert len(series.query("p", ["e"], METRIC, ["m"], rng, MIN)[0].times) == 30 * 144


def test_rewrite_is_idempotent_and_duplicates_in_a_batch_keep_the_first(series: SqlSeriesStore) -> None:
    points = _minutes(NOW - HOUR, 60)
    assert series.write("p", "e", METRIC, points) == 60
    assert series.write("p", "e", METRIC, points) == 0
    assert (
        series.write("p", "e", METRIC, [Point("m", NOW - HOUR, 99.0), Point("m", NOW, 5.0), Point("m", NOW, 6.0)]) == 1
    )
    (data,) = series.query("p", ["e"], METRIC, ["m"], TimeRange(NOW - HOUR, NOW + MIN), DAY, "count")
    assert data.values == [60.0, 1.0]  # NOW starts a new day bucket
    assert series.latest("p", ["e"], METRIC, ["m"]) == {("e", "m"): (NOW, 5.0)}
    (day,) = series.query("p", ["e"], METRIC, ["m"], TimeRange(NOW - DAY, NOW + DAY), DAY, "sum")
    assert day.values == [sum(range(60)), 5.0]


def test_out_of_order_points(series: SqlSeriesStore) -> None:
    points = _minutes(NOW - 2 * HOUR, 120)
    random.Random(7).shuffle(points)
    series.write("p", "e", METRIC, points[:70])
    series.write("p", "e", METRIC, points[70:])
    rng = TimeRange(NOW - 2 * HOUR, NOW)
    for step in (MIN, HOUR):
        (data,) = series.query("p", ["e"], METRIC, ["m"], rng, step, "last")
        assert data.times == sorted(data.times)
        assert data.values[-1] == 119.0
    (hourly,) = series.query("p", ["e"], METRIC, ["m"], rng, HOUR, "last")
    assert hourly.values == [59.0, 119.0]  # the newest point per bucket, whatever the arrival order
    assert series.latest("p", None, METRIC, ["m"]) == {("e", "m"): (NOW - MIN, 119.0)}


def test_many_series_in_one_query_and_names(series: SqlSeriesStore) -> None:
    for uid in ("e1", "e2"):
        series.write("p", uid, METRIC, _minutes(NOW - HOUR, 60, "a") + _minutes(NOW - HOUR, 60, "b"))
    series.write("p", "e3", SeriesKind.feature, _minutes(NOW - HOUR, 60, "f1"))
    series.write("p", "e3", METRIC, _minutes(NOW - 3 * DAY, 5, "old"))
    rng = TimeRange(NOW - HOUR, NOW)
    got = series.query("p", None, METRIC, None, rng, 10 * MIN)
    assert [(d.endpoint_uid, d.name) for d in got] == [("e1", "a"), ("e1", "b"), ("e2", "a"), ("e2", "b")]
    assert all(len(d.times) == 6 for d in got)
    assert series.query("p", ["e2"], METRIC, ["b", "zz"], rng, MIN)[0].name == "b"
    assert series.query("p", ["nope"], METRIC, None, rng, MIN) == []
    assert series.names("p", "e1", METRIC) == ["a", "b"]
    assert series.names("p", None, METRIC) == ["a", "b", "old"]
    assert series.names("p", None, SeriesKind.feature) == ["f1"]


def test_old_points_skip_raw_but_are_rolled_up_and_prune_applies_retention(series: SqlSeriesStore) -> None:
    series.write("p", "e", METRIC, [Point("m", NOW - 20 * DAY, 1.0), Point("m", NOW - 2 * DAY, 2.0)])
    assert _count(series, schema.points) == 1
    assert _count(series, schema.rollup_10m) == 2
    later = NOW + 30 * DAY  # raw keeps 8 days, 10m 35 days
    assert series.prune(later) == {"raw": 1, "10m": 1, "1h": 0, "1d": 0}
    assert _count(series, schema.rollup_10m) == 1 and _count(series, schema.rollup_1d) == 2


def test_non_finite_values_are_rejected(series: SqlSeriesStore) -> None:
    with pytest.raises(ValueError, match="finite"):
        series.write("p", "e", METRIC, [Point("m", NOW, float("inf"))])


def test_concurrent_writers_never_double_count(series: SqlSeriesStore) -> None:
    batches = [_minutes(NOW - HOUR, 60) for _ in range(6)]
    with ThreadPoolExecutor(6) as pool:
        new = sum(pool.map(lambda b: series.write("p", "e", METRIC, b), batches))
    assert new == 60
    (data,) = series.query("p", ["e"], METRIC, ["m"], TimeRange(NOW - DAY, NOW), DAY, "count")
    assert data.values == [60.0]


def test_write_frame_and_bulk_path_agree(series: SqlSeriesStore) -> None:
    times = np.arange(NOW - HOUR, NOW, MIN, dtype=np.int64)
    cols = {"f1": np.arange(60, dtype=np.float64), "f2": np.full(60, 2.5)}
    assert series.write_frame("p", "e", SeriesKind.feature, times, cols) == 120
    got = series.query("p", ["e"], SeriesKind.feature, None, TimeRange(NOW - HOUR, NOW), HOUR)
    assert [(d.name, d.values) for d in got] == [("f1", [29.5]), ("f2", [2.5])]
