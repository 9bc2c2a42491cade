"""individual_/overall_feature_analysis with MLRun's columns: missing stats are nulls, never errors."""

from __future__ import annotations

import pytest

from grafana_proxy.stores.base import Stores
from grafana_proxy.targets.base import Table, TargetError
from tests.targets.conftest import OTHER, PROJECT, Run

INDIVIDUAL = [
    "feature_name",
    "actual_min",
    "actual_mean",
    "actual_max",
    "expected_min",
    "expected_mean",
    "expected_max",
    "tvd",
    "hellinger",
    "kld",
]
OVERALL = ["tvd_sum", "tvd_mean", "hellinger_sum", "hellinger_mean", "kld_sum", "kld_mean"]


def _table(run: Run, target: str) -> Table:
    frames = run(target)
    assert len(frames) == 1 and isinstance(frames[0], Table)
    return frames[0]


def test_individual_one_row_per_reference_feature(seeded: Stores, run: Run) -> None:
    table = _table(run, f"target_endpoint=individual_feature_analysis;endpoint_id=ep-a;project={PROJECT}")
    assert [c.text for c in table.columns] == INDIVIDUAL
    assert [c.type for c in table.columns] == ["string"] + ["number"] * 9
    assert [list(r) for r in table.rows] == [
        ["f1", 0.5, 1.5, 2.5, 0.0, 1.0, 2.0, 0.25, 0.3, 0.5],
        # f2 has no current stats and a non-numeric tvd: nulls, not an error
        ["f2", None, None, None, 4.0, 5.0, 6.0, None, None, None],
    ]


def test_individual_without_any_stats_is_an_empty_table(seeded: Stores, run: Run) -> None:
    table = _table(run, f"target_endpoint=individual_feature_analysis;endpoint_id=ep-b;project={PROJECT}")
    assert [c.text for c in table.columns] == INDIVIDUAL and list(table.rows) == []


def test_individual_reference_only_gives_null_actuals(seeded: Stores, run: Run) -> None:
    seeded.endpoints.upsert(PROJECT, "ep-b", {"feature_stats": {"x": {"min": 1, "mean": 2, "max": 3}}})
    table = _table(run, f"target_endpoint=individual_feature_analysis;endpoint_id=ep-b;project={PROJECT}")
    assert [list(r) for r in table.rows] == [["x", None, None, None, 1, 2, 3, None, None, None]]


def test_overall_reads_aggregate_keys_missing_ones_null(seeded: Stores, run: Run) -> None:
    table = _table(run, f"target_endpoint=overall_feature_analysis;endpoint_id=ep-a;project={PROJECT}")
    assert [c.text for c in table.columns] == OVERALL and all(c.type == "number" for c in table.columns)
    assert [list(r) for r in table.rows] == [[0.25, 0.125, 0.3, 0.15, 0.5, None]]


def test_overall_no_rows_while_drift_measures_empty(seeded: Stores, run: Run) -> None:
    table = _table(run, f"target_endpoint=overall_feature_analysis;endpoint_id=ep-b;project={PROJECT}")
    assert [c.text for c in table.columns] == OVERALL and list(table.rows) == []


@pytest.mark.parametrize("name", ["individual_feature_analysis", "overall_feature_analysis"])
def test_unknown_endpoint_is_404_naming_project_and_uid(seeded: Stores, run: Run, name: str) -> None:
    with pytest.raises(TargetError) as err:
        run(f"target_endpoint={name};endpoint_id=nope;project={PROJECT}")
    assert err.value.status == 404 and "nope" in err.value.message and PROJECT in err.value.message
    # an endpoint of another project is unknown here too
    with pytest.raises(TargetError) as err:
        run(f"target_endpoint={name};endpoint_id=ep-c;project={PROJECT}")
    assert err.value.status == 404


@pytest.mark.parametrize("name", ["individual_feature_analysis", "overall_feature_analysis"])
def test_missing_endpoint_id_is_400_and_foreign_project_403(seeded: Stores, run: Run, name: str) -> None:
    with pytest.raises(TargetError) as err:
        run(f"target_endpoint={name};project={PROJECT}")
    assert err.value.status == 400 and "endpoint_id" in err.value.message
    with pytest.raises(TargetError) as err:
        run(f"target_endpoint={name};endpoint_id=ep-a;project={PROJECT}", access=[OTHER])
    assert err.value.status == 403
