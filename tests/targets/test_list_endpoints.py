"""list_projects and list_endpoints: access filtering, the table's shape and types, every filter."""

from __future__ import annotations

import pytest

from grafana_proxy.stores.base import Stores
from grafana_proxy.targets.base import Table, TargetError
from tests.targets.conftest import OTHER, PROJECT, T0, Run

HEADER = [
    ("endpoint_id", "string"),
    ("endpoint_name", "string"),
    ("endpoint_function", "string"),
    ("endpoint_model", "string"),
    ("endpoint_model_class", "string"),
    ("first_request", "time"),
    ("last_request", "time"),
    ("accuracy", "number"),
    ("error_count", "number"),
    ("drift_status", "number"),
    ("predictions_per_second", "number"),
    ("latency_avg_1h", "number"),
    ("sampling_percentage", "number"),
]


def _table(run: Run, target: str) -> Table:
    frames = run(target)
    assert len(frames) == 1 and isinstance(frames[0], Table)
    return frames[0]


def _rows_by_uid(table: Table) -> dict[str, dict[str, object]]:
    names = [c.text for c in table.columns]
    return {str(row[0]): dict(zip(names, row, strict=True)) for row in table.rows}


def test_list_projects_only_shows_projects_the_key_may_read(seeded: Stores, run: Run) -> None:
    assert run("target_endpoint=list_projects", "search") == sorted([PROJECT, OTHER])
    assert run("target_endpoint=list_projects", "search", access=[OTHER]) == [OTHER]
    assert run("target_endpoint=list_projects", "search", access=[]) == []


def test_table_columns_order_types_and_cell_types(seeded: Stores, run: Run) -> None:
    table = _table(run, f"target_endpoint=list_endpoints;project={PROJECT}")
    assert [(c.text, c.type) for c in table.columns] == HEADER
    assert all(len(row) == len(HEADER) for row in table.rows)
    rows = _rows_by_uid(table)
    assert set(rows) == {"ep-a", "ep-b", "ep-r"}
    a = rows["ep-a"]
    assert a == {
        "endpoint_id": "ep-a",
        "endpoint_name": "alpha",
        "endpoint_function": "fraud/serving@abc",
        "endpoint_model": "xgb:v1",
        "endpoint_model_class": "XGBModel",
        "first_request": T0 + 1_000,
        "last_request": T0 + 2_000,
        "accuracy": 0.9,
        "error_count": 3,
        "drift_status": 2,
        "predictions_per_second": 2.5,
        "latency_avg_1h": 100.0,
        "sampling_percentage": 50.0,
    }
    # Numbers are numbers, never strings (MLRun sent "N/A" and "2"); times are epoch-ms ints.
    assert type(a["first_request"]) is int and type(a["error_count"]) is int and type(a["drift_status"]) is int
    assert isinstance(a["sampling_percentage"], float)
    b = rows["ep-b"]
    assert b["accuracy"] is None and b["latency_avg_1h"] is None and b["first_request"] is None
    assert b["sampling_percentage"] == 100.0 and b["drift_status"] == 1


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("", {"ep-a", "ep-b", "ep-r"}),
        (";filter_router=true", {"ep-a", "ep-b"}),
        (";filter_router=True", {"ep-a", "ep-b"}),
        (";filter_router=False", {"ep-a", "ep-b", "ep-r"}),  # MLRun filtered here; a real boolean does not
        (";filter_router=0", {"ep-a", "ep-b", "ep-r"}),
        (";model=xgb:v1", {"ep-a"}),
        (";function=fraud/serving@abc", {"ep-a", "ep-r"}),
        (";labels=team=risk", {"ep-a"}),
        (";labels=team:ops", {"ep-b"}),
        (";labels=team=risk,tier:gold", {"ep-a"}),
        (";labels=team=risk,tier=silver", set()),
        (";uids=ep-a,ep-b", {"ep-a", "ep-b"}),
        (";uids={ep-a,ep-r}", {"ep-a", "ep-r"}),
        (";uids=(ep-b|ep-r)", {"ep-b", "ep-r"}),
        (";uids=ep-a,ep-r;filter_router=yes", {"ep-a"}),
    ],
)
def test_filters(seeded: Stores, run: Run, extra: str, expected: set[str]) -> None:
    table = _table(run, f"target_endpoint=list_endpoints;project={PROJECT}{extra}")
    assert set(_rows_by_uid(table)) == expected
    assert sorted(run(f"target_endpoint=list_endpoints;project={PROJECT}{extra}", "search")) == sorted(expected)


def test_search_lists_uids_of_the_project_only(seeded: Stores, run: Run) -> None:
    assert run(f"target_endpoint=list_endpoints;project={OTHER}", "search") == ["ep-c"]


def test_project_outside_the_key_is_403(seeded: Stores, run: Run) -> None:
    for kind in ("query", "search"):
        with pytest.raises(TargetError) as err:
            run(f"target_endpoint=list_endpoints;project={PROJECT}", kind, access=[OTHER])
        assert err.value.status == 403


@pytest.mark.parametrize(
    ("extra", "needle"),
    [(";filter_router=maybe", "filter_router"), (";labels=team", "key=value"), (";labels==x", "empty key")],
)
def test_bad_parameter_values_are_400(seeded: Stores, run: Run, extra: str, needle: str) -> None:
    with pytest.raises(TargetError) as err:
        run(f"target_endpoint=list_endpoints;project={PROJECT}{extra}")
    assert err.value.status == 400 and needle in err.value.message


def test_missing_project_is_400(seeded: Stores, run: Run) -> None:
    with pytest.raises(TargetError) as err:
        run("target_endpoint=list_endpoints")
    assert err.value.status == 400 and "'project'" in err.value.message
