"""Bodies of the write API. Validation errors name the field (``points[3].value: ...``)."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from grafana_proxy.clock import InvalidTime, now_ms, parse_time
from grafana_proxy.identifiers import KEY_PATTERN, ApplicationName, FeatureName, MetricName, ResultName
from grafana_proxy.limits import number_problem, time_problem
from grafana_proxy.model import ResultKind, ResultStatus

NAME_PATTERN = KEY_PATTERN
MAX_ITEMS = 100_000
# What every database and the JSON encoder can store and give back: a value that passes validation
# but cannot be written, or is written and then breaks every later read (orjson refuses integers
# beyond 64 bits, lone surrogates and nesting deeper than 254), is refused here with a 422.
MAX_JSON_DEPTH = 32
_INT64 = 2**63 - 1


def _storable(value: Any, depth: int = 0) -> Any:
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        _text(value)
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int):
        if not -_INT64 - 1 <= value <= _INT64:
            raise ValueError("integer outside the 64-bit range")
    elif isinstance(value, float):
        _finite(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable(key, depth + 1)
            _storable(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _storable(item, depth + 1)
    return value


def _text(value: Any) -> Any:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text is not valid Unicode (lone surrogate)") from None
    return value


def _to_epoch_ms(value: Any) -> int:
    try:
        ms = parse_time(value, now=now_ms(), field="timestamp")
    except InvalidTime as exc:
        raise ValueError(str(exc)) from None
    reason = time_problem(ms)
    if reason is not None:
        raise ValueError(reason)
    return ms


def _series_value(value: Any) -> Any:
    """A value stored in a series (and summed by its rollups): finite and within the magnitude limit."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        reason = number_problem(value)
        if reason is not None:
            raise ValueError(reason)
    return value


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number (not NaN or infinity)")
    return value


Timestamp = Annotated[int, BeforeValidator(_to_epoch_ms)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Text = Annotated[str, AfterValidator(_text)]
SeriesValue = Annotated[float, Field(allow_inf_nan=False), AfterValidator(_series_value)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_storable)]
JsonList = Annotated[list[Text], AfterValidator(_storable)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MetricPointIn(_Strict):
    name: MetricName
    timestamp: Timestamp
    value: SeriesValue


class MetricsIn(_Strict):
    points: list[MetricPointIn] = Field(max_length=MAX_ITEMS)


class FeatureSampleIn(_Strict):
    timestamp: Timestamp
    values: dict[FeatureName, Annotated[float | None, BeforeValidator(_finite), AfterValidator(_series_value)]]


class FeaturesIn(_Strict):
    samples: list[FeatureSampleIn] = Field(max_length=MAX_ITEMS)


class ResultIn(_Strict):
    application: ApplicationName
    name: ResultName
    kind: ResultKind
    status: ResultStatus
    value: FiniteFloat
    start_infer_time: Timestamp
    end_infer_time: Timestamp
    extra_data: JsonObject = Field(default_factory=dict)


class ResultsIn(_Strict):
    results: list[ResultIn] = Field(max_length=MAX_ITEMS)


class EndpointPatch(_Strict):
    """Any subset of the record's fields; unset fields keep their stored value."""

    name: Annotated[Text, Field(max_length=255)] | None = None
    function_uri: Annotated[Text, Field(max_length=512)] | None = None
    model: Annotated[Text, Field(max_length=255)] | None = None
    model_class: Annotated[Text, Field(max_length=255)] | None = None
    model_uri: Annotated[Text, Field(max_length=1024)] | None = None
    labels: JsonObject | None = None
    feature_names: Annotated[list[FeatureName], AfterValidator(_storable)] | None = None
    label_names: JsonList | None = None
    feature_stats: JsonObject | None = None
    current_stats: JsonObject | None = None
    drift_measures: JsonObject | None = None
    drift_status: int | str | None = None
    error_count: Annotated[int, Field(ge=0, le=_INT64)] | None = None
    first_request: Timestamp | None = None
    last_request: Timestamp | None = None
    metrics: JsonObject | None = None
    endpoint_type: Annotated[int, Field(ge=1, le=4)] | None = None
    active: bool | None = None
    monitoring_mode: Annotated[str, Field(pattern="^(enabled|disabled)$")] | None = None
    state: Annotated[Text, Field(max_length=32)] | None = None
    sampling_percentage: Annotated[float, Field(ge=0, le=100)] | None = None
    predictions_per_second: FiniteFloat | None = None
    latency_avg_5m: FiniteFloat | None = None
    latency_avg_1h: FiniteFloat | None = None
    predictions_count_5m: FiniteFloat | None = None
    predictions_count_1h: FiniteFloat | None = None
    accuracy: FiniteFloat | None = None
