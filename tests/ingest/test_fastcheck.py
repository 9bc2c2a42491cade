"""The plain checks (fastcheck) agree with the pydantic model: same events out, same refusals."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from pydantic import ValidationError

from grafana_proxy.ingest.events import EventIn, InvalidEvent, check_batch, normalize, parse_batch
from grafana_proxy.ingest.fastcheck import check_event

T = 1_790_000_000_000
BASE = {"endpoint_id": "ep", "timestamp": T, "request_id": "r"}
VARIANTS: list[dict[str, Any]] = [
    {},
    {"endpoint_id": None, "function_uri": "p/fn:v1", "model": "m:2"},
    {"when": T / 1000, "timestamp": None},
    {"timestamp": "2026-09-21T14:13:20Z"},
    {"timestamp": True},
    {"timestamp": "never"},
    {"inputs": [[1, 2.5, "x", None, True]], "outputs": [1]},
    {"inputs": [1, 2], "feature_names": ["a", "b"], "predictions": 1},
    {"inputs": {"a": 1, "b": "red"}},
    {"inputs": [{"a": 1}, {"b": 2}]},
    {"inputs": []},
    {"inputs": [[1], 2]},
    {"inputs": [[[1, 2]]]},
    {"inputs": [[1, 2], [3]], "feature_names": ["a", "b"]},
    {"latency": 5},
    {"latency": -1},
    {"latency": "5"},
    {"latency": True},
    {"error": "boom", "labels": {"team": "a"}},
    {"labels": {"team": 1}},
    {"model_class": "x" * 256},
    {"request_id": ""},
    {"request_id": 7},
    {"endpoint_id": "e" * 65},
    {"outputs": 1, "predictions": 2},
    {"unknown": 1},
]


def _pydantic(item: dict[str, Any]) -> Any:
    try:
        return normalize("p", EventIn.model_validate(item))
    except (ValidationError, ValueError):
        return "refused"


def _fast(item: dict[str, Any]) -> Any:
    checked = check_event(item)
    if checked is None:
        return None  # "ask pydantic"
    try:
        return normalize("p", checked)
    except ValueError:  # rows that do not fit the names: normalize refuses them on either path
        return "refused"


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: ",".join(v) or "base")
def test_fast_path_and_pydantic_agree(variant: dict[str, Any]) -> None:
    item = {k: v for k, v in {**BASE, **variant}.items() if v is not None or k not in ("timestamp", "endpoint_id")}
    expected = _pydantic(item)
    fast = _fast(item)
    if fast is not None:  # the fast path decides only where pydantic agrees, with the same values
        assert fast == expected
    try:
        (event,) = parse_batch("p", [item], 10)
    except InvalidEvent:
        assert expected == "refused"
    else:
        assert event == expected


def test_check_batch_refuses_exactly_what_parse_batch_refuses() -> None:
    items = [{**BASE, **v, "request_id": f"r{i}"} for i, v in enumerate(VARIANTS) if "timestamp" not in v]
    for a, b in itertools.combinations(items, 2):
        batch = [a, b]
        try:
            expected: Any = len(parse_batch("p", batch, 10))
        except InvalidEvent as exc:
            expected = (exc.index, exc.field, str(exc))
        try:
            got: Any = check_batch("p", batch, 10)
        except InvalidEvent as exc:
            got = (exc.index, exc.field, str(exc))
        assert got == expected
