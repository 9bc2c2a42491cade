"""app_results, detections, project_summary, list_metrics and list_applications."""

from __future__ import annotations

import json

import pytest

from grafana_proxy.model import AppResult, ResultKind, ResultStatus, TimeRange
from grafana_proxy.stores.base import Stores
from grafana_proxy.targets.base import Annotation, Series, Table, TargetError
from tests.targets.conftest import MINUTE, OTHER, PROJECT, T0, Run

TABLE_HEADER = [
    ("time", "time"),
    ("endpoint_id", "string"),
    ("application", "string"),
    ("name", "string"),
    ("kind", "number"),
    ("kind_name", "string"),
    ("status", "number"),
    ("status_name", "string"),
    ("value", "number"),
    ("start_infer_time", "time"),
    ("extra_data", "string"),
]


def test_app_results_series_of_values_per_endpoint_app_name(seeded: Stores, run: Run) -> None:
    frames = run(f"target_endpoint=app_results;project={PROJECT}")
    assert all(isinstance(f, Series) for f in frames)
    by_name = {f.name: f for f in frames}
    assert set(by_name) == {"alpha drift-app general_drift", "beta perf-app latency_spike"}
    drift = by_name["alpha drift-app general_drift"]
    assert list(drift.times) == [T0 + 10 * MINUTE, T0 + 20 * MINUTE]
    assert list(drift.values) == [0.1, 0.8]
    assert drift.labels["endpoint_id"] == "ep-a" and drift.labels["application"] == "drift-app"


def test_app_results_status_field_and_single_endpoint_naming(seeded: Stores, run: Run) -> None:
    frames = run(f"target_endpoint=app_results;project={PROJECT};endpoint_id=ep-a;field=status")
    assert [(f.name, list(f.values)) for f in frames] == [("drift-app general_drift", [0.0, 2.0])]


def test_app_results_table(seeded: Stores, run: Run) -> None:
    frames = run(f"target_endpoint=app_results;project={PROJECT};application=drift-app;format=table")
    assert len(frames) == 1 and isinstance(frames[0], Table)
    table = frames[0]
    assert [(c.text, c.type) for c in table.columns] == TABLE_HEADER
    assert all(len(r) == len(TABLE_HEADER) for r in table.rows)
    last = list(table.rows[-1])
    assert last[:10] == [
        T0 + 20 * MINUTE,
        "ep-a",
        "drift-app",
        "general_drift",
        0,
        "data_drift",
        2,
        "detected",
        0.8,
        T0 + 10 * MINUTE,
    ]
    assert isinstance(last[10], str) and json.loads(last[10]) == {"drift_status": 2}


def test_app_results_filters_by_name_and_time_range(seeded: Stores, run: Run) -> None:
    frames = run(f"target_endpoint=app_results;project={PROJECT};name=latency_spike;format=table")
    assert [r[3] for r in frames[0].rows] == ["latency_spike"]
    early = TimeRange(T0, T0 + 15 * MINUTE)
    frames = run(f"target_endpoint=app_results;project={PROJECT};format=table", time_range=early)
    assert [r[0] for r in frames[0].rows] == [T0 + 10 * MINUTE]


@pytest.mark.parametrize(
    ("extra", "status", "needle"),
    [
        (";format=csv", 400, "series, table"),
        (";field=kind", 400, "value, status"),
        (";endpoint_id=ghost", 404, "ghost"),
    ],
)
def test_app_results_errors(seeded: Stores, run: Run, extra: str, status: int, needle: str) -> None:
    with pytest.raises(TargetError) as err:
        run(f"target_endpoint=app_results;project={PROJECT}{extra}")
    assert err.value.status == status and needle in err.value.message


def test_app_results_thins_only_above_the_point_cap(seeded: Stores, run: Run) -> None:
    frames = run(f"target_endpoint=app_results;project={PROJECT};endpoint_id=ep-a", step_ms=3_600_000, max_points=1)
    assert [(list(f.times), list(f.values)) for f in frames] == [([T0], [0.8])]


def test_detections_annotations_for_status_at_least_one(seeded: Stores, run: Run) -> None:
    notes = run(f"target_endpoint=detections;project={PROJECT}", "annotations")
    assert all(isinstance(n, Annotation) for n in notes)
    assert [(n.time, n.time_end, n.title) for n in notes] == [
        (T0 + 10 * MINUTE, T0 + 20 * MINUTE, "drift-app: general_drift detected"),
        (T0 + 20 * MINUTE, T0 + 30 * MINUTE, "perf-app: latency_spike potential_detection"),
    ]
    assert list(notes[0].tags) == ["drift-app", "general_drift", "detected", "ep-a"]
    assert "0.8" in notes[0].text and "alpha" in notes[0].text
    only_b = run(f"target_endpoint=detections;project={PROJECT};endpoint_id=ep-b", "annotations")
    assert [n.tags[-1] for n in only_b] == ["ep-b"]
    only_app = run(f"target_endpoint=detections;project={PROJECT};application=drift-app", "annotations")
    assert [n.tags[0] for n in only_app] == ["drift-app"]


def test_detections_merge_consecutive_windows_into_one_region_per_episode(seeded: Stores, run: Run) -> None:
    def result(status: ResultStatus, start: int, value: float) -> AppResult:
        return AppResult(
            "ep-a",
            "drift-app",
            "general_drift",
            int(ResultKind.data_drift),
            int(status),
            value,
            start,
            start + 10 * MINUTE,
        )

    seeded.results.write(
        PROJECT,
        [
            result(ResultStatus.detected, T0 + 20 * MINUTE, 0.9),
            result(ResultStatus.potential_detection, T0 + 30 * MINUTE, 0.6),
            result(ResultStatus.no_detection, T0 + 40 * MINUTE, 0.1),
            result(ResultStatus.potential_detection, T0 + 50 * MINUTE, 0.55),
        ],
    )
    notes = run(f"target_endpoint=detections;project={PROJECT};endpoint_id=ep-a", "annotations")
    # Windows 10-20 (detected), 20-30 (detected), 30-40 (potential) touch: one region, worst status;
    # 40-50 detected nothing, so 50-60 starts a second episode.
    assert [(n.time, n.time_end, n.title) for n in notes] == [
        (T0 + 10 * MINUTE, T0 + 40 * MINUTE, "drift-app: general_drift detected"),
        (T0 + 50 * MINUTE, T0 + 60 * MINUTE, "drift-app: general_drift potential_detection"),
    ]
    assert "3 windows" in notes[0].text and "0.9" in notes[0].text


def test_list_metrics_lists_metrics_and_results_apart(seeded: Stores, run: Run) -> None:
    base = f"target_endpoint=list_metrics;project={PROJECT};endpoint_id=ep-a"
    assert run(f"{base};kind=metric", "search") == ["latency_avg_1h", "predictions_per_second"]
    assert run(f"{base};kind=result", "search") == ["general_drift"]
    assert run(f"{base};kind=result;application=perf-app", "search") == []
    with pytest.raises(TargetError, match="kind"):
        run(f"{base};kind=both", "search")


def test_project_summary_excludes_routers(seeded: Stores, run: Run) -> None:
    frames = run(f"target_endpoint=project_summary;project={PROJECT}")
    table = frames[0]
    assert isinstance(table, Table)
    assert [c.text for c in table.columns] == [
        "endpoints",
        "predictions_per_second",
        "latency_avg_1h",
        "error_count",
        "drift_detected",
        "drift_potential",
    ]
    # ep-a + ep-b; the router's 4.0 pred/s, 900 ms latency, 100 errors and drift are not counted
    assert [list(r) for r in table.rows] == [[2, 4.0, 100.0, 4, 1, 1]]


def test_project_summary_of_empty_project(seeded: Stores, run: Run) -> None:
    table = run("target_endpoint=project_summary;project=empty")[0]
    assert [list(r) for r in table.rows] == [[0, 0, None, 0, 0, 0]]


def test_list_metrics_metric_and_result_names_sorted(seeded: Stores, run: Run) -> None:
    names = run(f"target_endpoint=list_metrics;project={PROJECT};endpoint_id=ep-a", "search")
    assert names == ["general_drift", "latency_avg_1h", "predictions_per_second"]
    assert run(f"target_endpoint=list_metrics;project={PROJECT};endpoint_id=ep-b", "search") == [
        "latency_spike",
        "predictions_per_second",
    ]
    with pytest.raises(TargetError) as err:
        run(f"target_endpoint=list_metrics;project={PROJECT};endpoint_id=ghost", "search")
    assert err.value.status == 404


def test_list_applications(seeded: Stores, run: Run) -> None:
    assert run(f"target_endpoint=list_applications;project={PROJECT}", "search") == ["drift-app", "perf-app"]
    assert run(f"target_endpoint=list_applications;project={PROJECT};endpoint_id=ep-b", "search") == ["perf-app"]
    with pytest.raises(TargetError) as err:
        run(f"target_endpoint=list_applications;project={PROJECT}", "search", access=[OTHER])
    assert err.value.status == 403
