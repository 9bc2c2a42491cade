"""Ground truth and controller schedules on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import pytest

from grafana_proxy.model import GroundTruth
from grafana_proxy.stores.base import Stores


def test_ground_truth_round_trip_and_replace(stores: Stores) -> None:
    ground_truth, _ = (stores.ground_truth, stores.schedules)
    written = ground_truth.write("p", [GroundTruth("r1", 1, 1000, "ep"), GroundTruth("r2", ["a", "b"], 1001)])
    assert written == 2
    ground_truth.write("p", [GroundTruth("r1", 0, 2000, "ep")])
    ground_truth.write("other", [GroundTruth("r3", 7.5, 3000)])
    found = ground_truth.get("p", ["r1", "r2", "r3", "unknown"])
    assert found == {"r1": GroundTruth("r1", 0, 2000, "ep"), "r2": GroundTruth("r2", ["a", "b"], 1001, None)}
    many = [GroundTruth(f"q{i}", i, i) for i in range(1200)]
    ground_truth.write("p", many)
    assert len(ground_truth.get("p", [g.request_id for g in many])) == 1200


def test_ground_truth_refuses_empty_request_id(stores: Stores) -> None:
    ground_truth, _ = (stores.ground_truth, stores.schedules)
    with pytest.raises(ValueError, match="request_id"):
        ground_truth.write("p", [GroundTruth("", 1, 1)])


def test_schedule_only_moves_forward(stores: Stores) -> None:
    _, schedules = (stores.ground_truth, stores.schedules)
    assert schedules.last_analyzed("p") == {}
    schedules.advance("p", "histogram-data-drift", "ep", 600_000)
    schedules.advance("p", "histogram-data-drift", "ep", 300_000)
    schedules.advance("p", "system-performance", "ep", 1_200_000)
    schedules.advance("q", "system-performance", "ep", 5)
    assert schedules.last_analyzed("p") == {
        ("histogram-data-drift", "ep"): 600_000,
        ("system-performance", "ep"): 1_200_000,
    }
