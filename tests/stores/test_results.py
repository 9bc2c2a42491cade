"""Application results on every backend: replace on the key, filters, latest, listings."""

from __future__ import annotations

import pytest

from grafana_proxy.model import AppResult, TimeRange
from grafana_proxy.stores.base import Stores

T = 1_795_305_600_000
W = 600_000


def r(uid: str, app: str, name: str, end: int, status: int = 0, value: float = 0.1, **extra: object) -> AppResult:
    return AppResult(uid, app, name, 0, status, value, end - W, end, dict(extra))


def test_write_replaces_on_key_and_queries_filter(stores: Stores) -> None:
    results = stores.results
    assert (
        results.write(
            "p",
            [
                r("a", "drift", "tvd", T),
                r("a", "drift", "tvd", T + W, 1),
                r("a", "perf", "lat", T + W, 2),
                r("b", "drift", "tvd", T + 2 * W),
            ],
        )
        == 4
    )
    assert results.write("p", [r("a", "drift", "tvd", T, 2, 0.9, why=["x", {"ü": 1}])]) == 1  # same key: replaced
    assert results.write("q", [r("a", "drift", "tvd", T)]) == 1  # other project: separate
    every = results.query("p", TimeRange(T, T + 3 * W))
    assert [(x.endpoint_uid, x.application, x.end_infer_time) for x in every] == [
        ("a", "drift", T),
        ("a", "drift", T + W),
        ("a", "perf", T + W),
        ("b", "drift", T + 2 * W),
    ]
    assert every[0].status == 2 and every[0].value == 0.9 and every[0].extra_data == {"why": ["x", {"ü": 1}]}
    assert every[1].extra_data == {}
    assert len(results.query("p", TimeRange(T, T + W))) == 1  # end is exclusive
    assert [x.endpoint_uid for x in results.query("p", TimeRange(T, T + 3 * W), endpoint_uids=["b"])] == ["b"]
    assert [x.name for x in results.query("p", TimeRange(T, T + 3 * W), application="perf")] == ["lat"]
    assert len(results.query("p", TimeRange(T, T + 3 * W), names=["tvd"])) == 3
    assert [x.status for x in results.query("p", TimeRange(T, T + 3 * W), min_status=1)] == [2, 1, 2]


def test_latest_and_listings(stores: Stores) -> None:
    results = stores.results
    results.write(
        "p",
        [
            r("a", "drift", "tvd", T + W, 1),
            r("a", "drift", "tvd", T),
            r("a", "perf", "lat", T),
            r("b", "drift", "hellinger", T + 5 * W, 2),
        ],
    )
    latest = results.latest("p")
    assert [(x.endpoint_uid, x.application, x.name, x.end_infer_time) for x in latest] == [
        ("a", "drift", "tvd", T + W),
        ("a", "perf", "lat", T),
        ("b", "drift", "hellinger", T + 5 * W),
    ]
    assert [x.name for x in results.latest("p", ["a"], "drift")] == ["tvd"]
    assert results.applications("p") == ["drift", "perf"]
    assert results.applications("p", "b") == ["drift"]
    assert results.names("p") == ["hellinger", "lat", "tvd"]
    assert results.names("p", "a", "drift") == ["tvd"]
    assert results.latest("nope") == [] and results.applications("nope") == []


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        (AppResult("a", "", "n", 0, 0, 0.1, 0, 1), "application"),
        (AppResult("a", "app", "n", 0, 0, float("nan"), 0, 1), "value"),
        (AppResult("a", "app", "n", 0, 0, 0.1, 0, "1"), "end_infer_time"),  # type: ignore[arg-type]
        (AppResult("a", "app", "n", 0, 0, 0.1, 0, 1, "x"), "extra_data"),  # type: ignore[arg-type]
    ],
)
def test_bad_results_are_rejected_naming_the_field(sqlite_stores: Stores, bad: AppResult, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        sqlite_stores.results.write("p", [r("a", "app", "ok", T), bad])
    assert sqlite_stores.results.names("p") == []  # nothing of the batch was written
