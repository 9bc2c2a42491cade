from __future__ import annotations

import hashlib

import pytest

from grafana_proxy.ingest.events import InvalidEvent, endpoint_uid, parse_batch

T = 1_790_000_000_000


def test_uid_is_mlruns_sha1_of_project_function_tag_model_version() -> None:
    expected = hashlib.sha1(b"proj_serving_latest_churn_2").hexdigest()
    assert endpoint_uid("proj", "proj/serving:latest", "churn:2") == expected
    # Missing tag and version become N/A, and the project comes from the path when the URI has none.
    assert endpoint_uid("proj", "serving", "churn") == hashlib.sha1(b"proj_serving_N/A_churn_N/A").hexdigest()
    assert endpoint_uid("x", "other/fn@abc123", "m:1") == hashlib.sha1(b"other_fn_abc123_m_1").hexdigest()


def test_every_input_shape_becomes_rows_aligned_with_names() -> None:
    base = {"endpoint_id": "ep", "timestamp": T}
    events = parse_batch(
        "p",
        [
            {**base, "request_id": "a", "inputs": [[1, 2], [3, 4]], "outputs": [0, 1]},
            {**base, "request_id": "b", "inputs": [1, 2], "feature_names": ["x", "y"], "outputs": 1},
            {**base, "request_id": "c", "inputs": {"x": 1, "y": "red"}},
            {**base, "request_id": "d", "inputs": [{"x": 1}, {"y": 2}]},
        ],
        100,
    )
    a, b, c, d = events
    assert (a.feature_names, a.named, a.rows, a.outputs) == (["f0", "f1"], False, [[1, 2], [3, 4]], [0, 1])
    assert (b.feature_names, b.named, b.rows, b.outputs) == (["x", "y"], True, [[1, 2]], [1])
    assert (c.feature_names, c.rows) == (["x", "y"], [[1, "red"]])
    assert (d.feature_names, d.rows) == (["x", "y"], [[1, None], [None, 2]])


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (T, T),
        (T / 1000, T),
        (T * 1000, T),
        ("2026-09-21T14:13:20Z", 1_790_000_000_000),
        ("2026-09-21T16:13:20+02:00", T),
    ],
)
def test_timestamps_in_seconds_ms_us_or_iso(when: object, expected: int) -> None:
    (event,) = parse_batch("p", [{"endpoint_id": "e", "timestamp": when, "request_id": "r"}], 10)
    assert event.timestamp == expected


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"request_id": ""}, "request_id"),
        ({"latency": -5}, "latency"),
        ({"endpoint_id": None}, "(event)"),
        ({"inputs": [[1, 2], [3]], "feature_names": ["a", "b"]}, "inputs"),
        ({"unknown_field": 1}, "unknown_field"),
    ],
)
def test_first_bad_event_is_named_with_its_field(bad: dict[str, object], field: str) -> None:
    good = {"endpoint_id": "e", "timestamp": T, "request_id": "r"}
    event = {**good, **bad}
    if bad.get("endpoint_id", "") is None:
        event.pop("endpoint_id")
    with pytest.raises(InvalidEvent) as info:
        parse_batch("p", [good, good, event, {"broken": True}], 10)
    assert info.value.index == 2
    assert info.value.field == field
    assert f"event 2: field '{field}'" in str(info.value)


def test_batch_must_be_a_list_within_the_limit() -> None:
    with pytest.raises(InvalidEvent):
        parse_batch("p", {"not": "events"}, 10)
    with pytest.raises(InvalidEvent) as info:
        parse_batch("p", [{"endpoint_id": "e", "timestamp": T, "request_id": str(i)} for i in range(11)], 10)
    assert "at most 10" in str(info.value)
