"""The common case of event validation without pydantic: plain checks over orjson-parsed dicts.

``EventIn.model_validate`` costs ~30-70 us per event (building a model, a union over four input shapes, three
Python validators); at 1,000 events per batch that was most of an ingest request. ``check_event`` accepts
only events that are unambiguously valid for ``EventIn`` and returns the very values pydantic would (JSON
scalars pass its ``Scalar`` union unchanged; ``latency`` becomes a float); for anything else (a wrong type,
a limit exceeded, both a field and its alias) it answers ``None`` and the caller asks pydantic, so a 400
names the same field with the same message as before. ``tests/ingest/test_fastcheck.py`` compares both."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from grafana_proxy.identifiers import Kind, is_valid
from grafana_proxy.limits import MAX_FEATURES, MAX_MAGNITUDE, MAX_ROWS, TIME_MAX_MS, TIME_MIN_MS, depth_problem

_FIELDS = frozenset(
    {
        "endpoint_id",
        "function_uri",
        "model",
        "model_class",
        "timestamp",
        "when",
        "request_id",
        "inputs",
        "feature_names",
        "outputs",
        "predictions",
        "latency",
        "error",
        "labels",
    }
)
_SCALARS = (int, float, str, bool, type(None))  # what orjson gives for JSON scalars


@dataclass(frozen=True, slots=True)
class CheckedEvent:
    """The fields of a valid event, as ``EventIn`` would hold them."""

    endpoint_id: str | None
    function_uri: str | None
    model: str | None
    model_class: str | None
    timestamp: int
    request_id: str
    inputs: Any
    feature_names: list[str] | None
    outputs: Any
    latency: float | None
    error: str | None
    labels: dict[str, str] | None


def to_epoch_ms(value: Any) -> int:
    """Epoch seconds, milliseconds or microseconds (told apart by magnitude), or ISO 8601 with a zone."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        if not -1e17 < value < 1e17:  # beyond year 5000 in any unit: not a time (and x1000 may overflow)
            raise ValueError("time out of range (1970-01-01 .. 2100-01-01 UTC)")
        # Seconds, milliseconds and microseconds are told apart by magnitude (all plausible dates).
        if value < 1e11:
            return int(value * 1000)
        if value < 1e14:
            return int(value)
        return int(value / 1000)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("expected epoch seconds/ms or an ISO 8601 time") from None
        if parsed.tzinfo is None:
            raise ValueError("ISO time needs a timezone (e.g. 'Z')")
        return int(parsed.timestamp() * 1000)
    raise ValueError("expected epoch seconds/ms or an ISO 8601 time")


def _text(value: Any, low: int, high: int) -> bool:
    return value is None or (type(value) is str and low <= len(value) <= high and "\x00" not in value)


@lru_cache(maxsize=65_536)  # a batch names the same endpoint and features a thousand times
def _ident(kind: Kind, value: str) -> bool:
    return is_valid(kind, value)


def _ident_or_none(kind: Kind, value: Any) -> bool:
    return value is None or (type(value) is str and _ident(kind, value))


def _scalar_ok(value: Any) -> bool:
    kind = type(value)
    if kind is float or kind is int:
        return bool(-MAX_MAGNITUDE <= value <= MAX_MAGNITUDE)
    if kind is str:
        return "\x00" not in value
    return kind is bool or value is None


def _scalars(values: Any) -> bool:
    return all(_scalar_ok(v) for v in values)


def _names(values: Any) -> bool:
    return all(type(n) is str and _ident("feature", n) for n in values)


def _inputs_ok(inputs: Any) -> bool:
    """One of ``EventIn.inputs``' shapes with plain JSON scalars within the limits (so pydantic would keep
    them unchanged)."""
    if inputs is None:
        return True
    if type(inputs) is dict:
        return _names(inputs) and _scalars(inputs.values())
    if type(inputs) is not list or len(inputs) > MAX_ROWS:
        return False
    if all(type(item) is list for item in inputs):
        return all(len(item) <= MAX_FEATURES and _scalars(item) for item in inputs)
    if all(type(item) is dict for item in inputs):
        return all(_names(item) and _scalars(item.values()) for item in inputs)
    return _scalars(inputs)


def _latency(value: Any) -> float | None | bool:
    """The latency as pydantic's ``float`` field gives it, or False when it is not plainly valid."""
    if value is None:
        return None
    if type(value) is not float and type(value) is not int:
        return False
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range: pydantic's message then
        return False
    return number if 0 <= number <= MAX_MAGNITUDE else False


def check_event(item: dict[str, Any]) -> CheckedEvent | None:
    """The event's fields when it is plainly valid; None means "ask pydantic" (maybe valid, maybe not)."""
    if not item.keys() <= _FIELDS or ("when" in item and "timestamp" in item):
        return None
    if "outputs" in item and "predictions" in item:
        return None
    raw_time = item["when"] if "when" in item else item.get("timestamp")
    request_id = item.get("request_id")
    endpoint_id = item.get("endpoint_id")
    function_uri = item.get("function_uri")
    model = item.get("model")
    model_class = item.get("model_class")
    error = item.get("error")
    if raw_time is None or type(request_id) is not str or not _ident("request_id", request_id):
        return None
    if not (_ident_or_none("endpoint_id", endpoint_id) and _ident_or_none("function_uri", function_uri)):
        return None
    if not _ident_or_none("model", model):
        return None
    if not (_text(model_class, 0, 255) and _text(error, 0, 10_000)):
        return None
    if endpoint_id is None and (function_uri is None or model is None):
        return None
    latency = _latency(item.get("latency"))
    if latency is False or latency is True:
        return None
    names = item.get("feature_names")
    if names is not None and not (type(names) is list and len(names) <= MAX_FEATURES and _names(names)):
        return None
    labels = item.get("labels")
    if labels is not None and not (
        type(labels) is dict
        and all(type(v) is str and _text(v, 0, 1 << 30) and _text(k, 0, 1 << 30) for k, v in labels.items())
    ):
        return None
    inputs = item.get("inputs")
    if not _inputs_ok(inputs):
        return None
    outputs = item["predictions"] if "predictions" in item else item.get("outputs")
    if type(outputs) in (list, dict) and depth_problem(outputs) is not None:
        return None
    try:
        timestamp = to_epoch_ms(raw_time)
    except ValueError:
        return None
    if not TIME_MIN_MS <= timestamp < TIME_MAX_MS:
        return None
    return CheckedEvent(
        endpoint_id=endpoint_id,
        function_uri=function_uri,
        model=model,
        model_class=model_class,
        timestamp=timestamp,
        request_id=request_id,
        inputs=inputs,
        feature_names=names,
        outputs=outputs,
        latency=latency,
        error=error,
        labels=labels,
    )


def rows_align(inputs: Any, names: list[str] | None) -> bool:
    """False when ``events._rows`` would refuse these inputs (a row whose width differs from the names)."""
    if names is None or inputs is None or type(inputs) is dict:
        return True
    if inputs and all(type(item) is dict for item in inputs):
        return True
    if inputs and all(type(item) is list for item in inputs):
        return all(len(row) == len(names) for row in inputs)
    return len(inputs) == len(names)  # one flat vector of scalars (check_event ruled out a mix)
