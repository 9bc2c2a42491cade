"""The one potential/detected rule, in both directions, and the built-in applications using it."""

from __future__ import annotations

import math

import pytest

from grafana_proxy.model import ResultStatus
from grafana_proxy.monitoring.thresholds import classify


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.2, ResultStatus.no_detection), (0.5, ResultStatus.potential_detection), (0.7, ResultStatus.detected)],
)
def test_higher_is_worse_reaches_each_threshold_at_its_value(value: float, expected: ResultStatus) -> None:
    assert classify(value, 0.5, 0.7) == expected


@pytest.mark.parametrize(
    ("accuracy", "expected"),
    [(0.9, ResultStatus.no_detection), (0.8, ResultStatus.no_detection), (0.7, ResultStatus.potential_detection)]
    + [(0.6, ResultStatus.potential_detection), (0.59, ResultStatus.detected)],
)
def test_lower_is_worse_is_past_a_threshold_below_it(accuracy: float, expected: ResultStatus) -> None:
    # An accuracy: potential below 0.8, detected below 0.6.
    assert classify(accuracy, 0.8, 0.6, lower_is_worse=True) == expected


def test_a_missing_value_is_irrelevant() -> None:
    assert classify(None, 0.5, 0.7) == ResultStatus.irrelevant
    assert classify(math.nan, 0.8, 0.6, lower_is_worse=True) == ResultStatus.irrelevant
