"""Endpoint records on every backend: partial upserts, validation, JSON round trips, filters, delete."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from grafana_proxy.model import AppResult, EndpointFilter, SeriesKind, TimeRange
from grafana_proxy.stores.base import Point, Stores

STATS = {"f1": {"mean": 1.5, "hist": [[0, 2, 1], [0.0, 0.5, 1.0, 1.5]], "note": "naïve ✓ 🚀"}, "empty": {}}


def test_upsert_creates_then_updates_only_given_fields(stores: Stores) -> None:
    created = stores.endpoints.upsert("p", "ep1", {"name": "churn", "labels": {"team": "a"}, "error_count": 2})
    assert (created.name, created.labels, created.error_count, created.drift_status) == ("churn", {"team": "a"}, 2, -1)
    updated = stores.endpoints.upsert(
        "p", "ep1", {"model": "m:1", "feature_stats": STATS, "last_request": 1_700_000_000_123}
    )
    assert updated.name == "churn" and updated.labels == {"team": "a"}
    assert updated.model == "m:1" and updated.feature_stats == STATS
    assert updated.last_request == 1_700_000_000_123
    assert stores.endpoints.get("p", "ep1") == updated
    assert stores.endpoints.get("p", "nope") is None


def test_json_fields_come_back_as_python_objects(stores: Stores) -> None:
    stores.endpoints.upsert(
        "p",
        "ep1",
        {"feature_names": ["a", "ß"], "metrics": {"generic": {"x": 1}}, "current_stats": {"nested": [1, {"k": None}]}},
    )
    record = stores.endpoints.records("p")[0]
    assert record.feature_names == ["a", "ß"]
    assert record.metrics == {"generic": {"x": 1}}
    assert record.current_stats == {"nested": [1, {"k": None}]}
    assert record.label_names == [] and record.drift_measures == {}


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"nmae": "x"}, "nmae"),
        ({"labels": "team=a"}, "labels"),
        ({"feature_names": {"a": 1}}, "feature_names"),
        ({"error_count": "3"}, "error_count"),
        ({"active": 1}, "active"),
        ({"accuracy": float("nan")}, "accuracy"),
        ({"drift_status": "SOMETIMES"}, "drift_status"),
        ({"name": "x" * 300}, "name"),
        ({"uid": "other"}, "uid"),
    ],
)
def test_bad_fields_raise_value_error_naming_them(sqlite_stores: Stores, fields: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        sqlite_stores.endpoints.upsert("p", "ep1", fields)
    assert sqlite_stores.endpoints.get("p", "ep1") is None


@pytest.mark.parametrize(
    ("given", "stored"), [("NO_DRIFT", 0), ("POSSIBLE_DRIFT", 1), ("DRIFT_DETECTED", 2), ("-1", -1), ("2", 2), (1, 1)]
)
def test_drift_status_is_normalised(sqlite_stores: Stores, given: object, stored: int) -> None:
    assert sqlite_stores.endpoints.upsert("p", "ep1", {"drift_status": given}).drift_status == stored


def test_concurrent_upserts_of_a_new_endpoint_all_succeed(stores: Stores) -> None:
    fields = [{"error_count": i} for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda f: stores.endpoints.upsert("p", "race", f), fields))
    assert len(results) == 16
    assert stores.endpoints.uids("p") == ["race"]


def _three(stores: Stores) -> None:
    stores.endpoints.upsert(
        "p",
        "a",
        {
            "name": "A",
            "model": "churn:1",
            "function_uri": "p/serving:latest",
            "labels": {"team": "x", "tier": 1},
            "predictions_per_second": 2.5,
        },
    )
    stores.endpoints.upsert(
        "p", "b", {"name": "B", "model": "churn:2", "function_uri": "p/other:v2", "labels": {"team": "y"}}
    )
    stores.endpoints.upsert(
        "p", "r", {"name": "R", "model": "churnish", "function_uri": "p/serving:latest", "endpoint_type": "2"}
    )
    stores.endpoints.upsert("q", "c", {"name": "C", "model": "churn:1"})


def test_summaries_read_narrow_columns_and_filter(stores: Stores) -> None:
    _three(stores)
    every = stores.endpoints.summaries("p")
    assert [s.uid for s in every] == ["a", "b", "r"]
    assert every[0].predictions_per_second == 2.5 and every[2].endpoint_type == 2

    def uids(**kw: object) -> list[str]:
        return [s.uid for s in stores.endpoints.summaries("p", EndpointFilter(**kw))]  # type: ignore[arg-type]

    assert uids(model="churn") == ["a", "b"]  # a model name matches every version, not "churnish"
    assert uids(model="churn:2") == ["b"]
    assert uids(function="serving") == ["a", "r"]
    assert uids(function="p/serving:latest") == ["a", "r"]
    assert uids(labels={"team": "x"}) == ["a"]
    assert uids(labels={"team": "x", "tier": "1"}) == ["a"]  # values compare as strings
    assert uids(labels={"team": "x", "tier": "2"}) == []
    assert uids(uids=("b", "r", "zz")) == ["b", "r"]
    assert uids(exclude_routers=True) == ["a", "b"]
    assert uids(model="churn", exclude_routers=True, labels={"team": "y"}) == ["b"]
    assert [r.uid for r in stores.endpoints.records("p", EndpointFilter(labels={"team": "y"}))] == ["b"]
    assert stores.endpoints.uids("q") == ["c"]
    assert stores.endpoints.projects() == ["p", "q"]


def test_uids_are_case_sensitive(stores: Stores) -> None:
    stores.endpoints.upsert("p", "Churn", {"name": "upper"})
    stores.endpoints.upsert("p", "churn", {"name": "lower"})
    assert stores.endpoints.uids("p") == ["Churn", "churn"]


def test_delete_removes_series_points_and_results(stores: Stores) -> None:
    _three(stores)
    t = 1_800_000_000_000
    stores.series.write("p", "a", SeriesKind.metric, [Point("m", t, 1.0)])
    stores.series.write("p", "b", SeriesKind.metric, [Point("m", t, 2.0)])
    stores.results.write(
        "p", [AppResult("a", "app", "r", 0, 1, 0.5, t - 1, t), AppResult("b", "app", "r", 0, 1, 0.5, t - 1, t)]
    )
    assert stores.endpoints.delete("p", "a") is True
    assert stores.endpoints.delete("p", "a") is False
    assert stores.endpoints.uids("p") == ["b", "r"]
    assert stores.series.names("p", "a", SeriesKind.metric) == []
    assert [r.endpoint_uid for r in stores.results.query("p", TimeRange(0, t + 1))] == ["b"]
    # The same uid can come back and gets fresh series (the id cache was invalidated).
    stores.endpoints.upsert("p", "a", {"name": "again"})
    assert stores.series.write("p", "a", SeriesKind.metric, [Point("m", t, 3.0)]) == 1
    assert stores.series.latest("p", ["a"], SeriesKind.metric, ["m"]) == {("a", "m"): (t, 3.0)}


def test_first_and_last_request_only_move_outwards(stores: Stores) -> None:
    # Several writers set them (each ingest process's fold, a batch): a later first or an earlier last
    # request must not undo what another writer saw.
    stores.endpoints.upsert("p", "e", {"first_request": 1_000, "last_request": 5_000})
    record = stores.endpoints.upsert("p", "e", {"first_request": 2_000, "last_request": 4_000})
    assert (record.first_request, record.last_request) == (1_000, 5_000)
    record = stores.endpoints.upsert("p", "e", {"first_request": 500, "last_request": 9_000, "error_count": 3})
    assert (record.first_request, record.last_request, record.error_count) == (500, 9_000, 3)
    record = stores.endpoints.upsert("p", "e", {"name": "renamed"})
    assert (record.first_request, record.last_request) == (500, 9_000)
