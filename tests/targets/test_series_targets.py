"""incoming_features and metrics: bucketing through the context's step, naming, labels, filters."""

from __future__ import annotations

import pytest

from grafana_proxy.model import TimeRange
from grafana_proxy.stores.base import Stores
from grafana_proxy.targets.base import Series, TargetError
from tests.targets.conftest import DAY, MINUTE, PROJECT, T0, Run

TEN_MIN = 10 * MINUTE


def _series(frames: list[object]) -> list[Series]:
    assert all(isinstance(f, Series) for f in frames)
    return [f for f in frames if isinstance(f, Series)]


def test_incoming_features_one_series_per_feature_bucketed_by_step(seeded: Stores, run: Run) -> None:
    target = f"target_endpoint=incoming_features;project={PROJECT};endpoint_id=ep-a"
    raw = _series(run(target, step_ms=MINUTE))
    assert [s.name for s in raw] == ["f1", "f2"]
    assert len(raw[0].times) == 60 and list(raw[0].values[:3]) == [0.0, 1.0, 2.0]
    coarse = _series(run(target, step_ms=TEN_MIN))
    assert list(coarse[0].times) == [T0 + k * TEN_MIN for k in range(6)]
    # each 10-minute bucket averages minutes 10k..10k+9
    assert list(coarse[0].values) == pytest.approx([10 * k + 4.5 for k in range(6)])
    assert list(coarse[1].values) == pytest.approx([10 * (10 * k + 4.5) for k in range(6)])
    assert dict(coarse[1].labels) == {"endpoint_id": "ep-a", "feature": "f2"}


def test_incoming_features_param_narrows_and_validates(seeded: Stores, run: Run) -> None:
    base = f"target_endpoint=incoming_features;project={PROJECT};endpoint_id=ep-a"
    assert [s.name for s in _series(run(base + ";features=f2"))] == ["f2"]
    with pytest.raises(TargetError) as err:
        run(base + ";features=f9")
    assert err.value.status == 400 and "f9" in err.value.message and "f1, f2" in err.value.message


def test_incoming_features_empty_range_keeps_series_and_no_features_is_empty(seeded: Stores, run: Run) -> None:
    later = TimeRange(T0 + DAY, T0 + 2 * DAY)
    empty = _series(run(f"target_endpoint=incoming_features;project={PROJECT};endpoint_id=ep-a", time_range=later))
    assert [(s.name, list(s.times)) for s in empty] == [("f1", []), ("f2", [])]
    assert run(f"target_endpoint=incoming_features;project={PROJECT};endpoint_id=ep-b") == []


def test_incoming_features_falls_back_to_stored_series_names(seeded: Stores, run: Run) -> None:
    seeded.endpoints.upsert(PROJECT, "ep-a", {"feature_names": []})
    frames = _series(run(f"target_endpoint=incoming_features;project={PROJECT};endpoint_id=ep-a"))
    assert [s.name for s in frames] == ["f1", "f2"]


def test_incoming_features_unknown_endpoint_404(seeded: Stores, run: Run) -> None:
    with pytest.raises(TargetError) as err:
        run(f"target_endpoint=incoming_features;project={PROJECT};endpoint_id=zzz")
    assert err.value.status == 404 and "zzz" in err.value.message


def test_metrics_one_endpoint_named_by_metric(seeded: Stores, run: Run) -> None:
    frames = _series(
        run(
            f"target_endpoint=metrics;project={PROJECT};endpoint_id=ep-a;metric=latency_avg_1h,predictions_per_second",
            step_ms=TEN_MIN,
        )
    )
    assert [s.name for s in frames] == ["latency_avg_1h", "predictions_per_second"]
    assert dict(frames[1].labels) == {
        "endpoint_id": "ep-a",
        "endpoint_name": "alpha",
        "metric": "predictions_per_second",
    }
    assert list(frames[1].values) == pytest.approx([10 * k + 4.5 for k in range(6)])


def test_metrics_default_all_endpoints_and_filter_router(seeded: Stores, run: Run) -> None:
    base = f"target_endpoint=metrics;project={PROJECT};metric=predictions_per_second"
    names = {s.name for s in _series(run(base, step_ms=TEN_MIN))}
    assert names == {
        "alpha predictions_per_second",
        "beta predictions_per_second",
        "router predictions_per_second",
    }
    for flag, expected in (("true", {"ep-a", "ep-b"}), ("false", {"ep-a", "ep-b", "ep-r"})):
        frames = _series(run(f"{base};filter_router={flag}", step_ms=TEN_MIN))
        assert {s.labels["endpoint_id"] for s in frames} == expected


@pytest.mark.parametrize(
    ("agg", "first"),
    [("avg", 4.5), ("min", 0.0), ("max", 9.0), ("sum", 45.0), ("count", 10.0), ("last", 9.0)],
)
def test_metrics_agg(seeded: Stores, run: Run, agg: str, first: float) -> None:
    frames = _series(
        run(
            f"target_endpoint=metrics;project={PROJECT};endpoint_id=ep-a;metric=predictions_per_second;agg={agg}",
            step_ms=TEN_MIN,
        )
    )
    assert frames[0].values[0] == pytest.approx(first)


def test_metrics_multi_value_endpoint_forms(seeded: Stores, run: Run) -> None:
    frames = _series(
        run(f"target_endpoint=metrics;project={PROJECT};endpoint_id={{ep-a,ep-b}};metric=predictions_per_second")
    )
    assert [s.labels["endpoint_id"] for s in frames] == ["ep-a", "ep-b"]
    assert frames[0].name == "alpha predictions_per_second"


@pytest.mark.parametrize(
    ("extra", "status", "needle"),
    [
        (";metric=predictions_per_second;agg=median", 400, "avg, min, max, sum, count, last"),
        (";metric=predictions_per_second;endpoint_id=ep-a,ghost", 404, "ghost"),
        ("", 400, "'metric'"),
    ],
)
def test_metrics_errors(seeded: Stores, run: Run, extra: str, status: int, needle: str) -> None:
    with pytest.raises(TargetError) as err:
        run(f"target_endpoint=metrics;project={PROJECT}{extra}")
    assert err.value.status == status and needle in err.value.message
