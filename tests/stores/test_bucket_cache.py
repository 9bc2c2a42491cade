"""The query path's cache of closed buckets, on every backend: a second store instance on the same
database plays another process (the ingest role) writing while this one (the api role) answers
panels. Every answer must equal what a store with no cache answers from the database."""

from __future__ import annotations

import pytest

from grafana_proxy.model import SeriesData, SeriesKind, TimeRange
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Point, Stores
from grafana_proxy.stores.endpoints import SqlEndpointStore
from grafana_proxy.stores.series import SqlSeriesStore

MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR
NOW = 1_795_305_600_000  # a day boundary
METRIC = SeriesKind.metric
# (range, step): the raw tier (5-minute buckets of 1-minute points) and the 10-minute tier (1-hour buckets)
SHAPES = ((TimeRange(NOW - DAY, NOW), 5 * MIN), (TimeRange(NOW - 2 * DAY, NOW), HOUR))


def _store(stores: Stores) -> SqlSeriesStore:
    return SqlSeriesStore(stores.series.db, Settings().retention_ms(), clock=lambda: NOW)  # type: ignore[attr-defined]


@pytest.fixture
def api(stores: Stores) -> SqlSeriesStore:
    return _store(stores)


@pytest.fixture
def ingest(stores: Stores) -> SqlSeriesStore:
    return _store(stores)


def _points(start: int, end: int, offset: float = 0.0, name: str = "m") -> list[Point]:
    return [Point(name, ts, float(ts // MIN % 97) + offset) for ts in range(start, end, MIN)]


def _answers(series: SqlSeriesStore) -> list[list[SeriesData]]:
    return [series.query("p", ["e"], METRIC, ["m", "n"], rng, step) for rng, step in SHAPES]


def _truth(stores: Stores) -> list[list[SeriesData]]:
    return _answers(_store(stores))  # a new instance: an empty cache, everything from the database


def test_repeated_query_is_served_from_the_cache_and_equals_the_database(
    stores: Stores, api: SqlSeriesStore, ingest: SqlSeriesStore
) -> None:
    ingest.write("p", "e", METRIC, _points(NOW - 2 * DAY, NOW - HOUR) + _points(NOW - DAY, NOW - HOUR, 1, "n"))
    first = _answers(api)
    assert len(api.cache._entries) == 4  # two series x two shapes hold closed buckets
    assert first == _answers(api) == _truth(stores)
    assert all(len(answer) == 2 and answer[0].times for answer in first)


def test_points_appended_by_another_process_show_up(
    stores: Stores, api: SqlSeriesStore, ingest: SqlSeriesStore
) -> None:
    ingest.write("p", "e", METRIC, _points(NOW - 2 * DAY, NOW - 3 * HOUR))
    before = _answers(api)
    ingest.write("p", "e", METRIC, _points(NOW - 3 * HOUR, NOW - HOUR, 5))
    after = _answers(api)
    assert after == _truth(stores)
    assert after[0][0].times[-1] > before[0][0].times[-1]


def test_a_late_point_in_a_closed_bucket_invalidates_it(
    stores: Stores, api: SqlSeriesStore, ingest: SqlSeriesStore
) -> None:
    # Every other minute first; a later write fills a gap in a bucket that was closed (and cached).
    ingest.write("p", "e", METRIC, _points(NOW - 2 * DAY, NOW - HOUR)[::2])
    before = _answers(api)
    ingest.write("p", "e", METRIC, [Point("m", NOW - 20 * HOUR + MIN, 1000.0)])
    after = _answers(api)
    assert after == _truth(stores)
    assert after != before


def test_pruning_old_data_invalidates_cached_buckets(
    stores: Stores, api: SqlSeriesStore, ingest: SqlSeriesStore
) -> None:
    ingest.write("p", "e", METRIC, _points(NOW - 2 * DAY, NOW - HOUR))
    before = _answers(api)
    ingest.prune(NOW + 8 * DAY - 12 * HOUR)  # the raw tier keeps 8 days: its oldest 12 h go
    after = _answers(api)
    assert after == _truth(stores)
    assert after[0][0].times[0] > before[0][0].times[0]


def test_a_deleted_and_recreated_series_is_never_answered_from_the_old_cache(
    stores: Stores, api: SqlSeriesStore, ingest: SqlSeriesStore
) -> None:
    endpoints = SqlEndpointStore(ingest.db, ingest)
    endpoints.upsert("p", "e", {"name": "model"})
    ingest.write("p", "e", METRIC, _points(NOW - 2 * DAY, NOW - HOUR))
    _answers(api)
    assert endpoints.delete("p", "e")
    ingest.write("p", "e", METRIC, _points(NOW - 2 * DAY, NOW - HOUR, 50))
    assert _answers(api) == _truth(stores)
