"""Bodies of the write API. Validation errors name the field (``points[3].value: ...``)."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from grafana_proxy.model import ResultKind, ResultStatus
from grafana_proxy.protocol.timerange import now_ms, parse_time
from grafana_proxy.targets.base import TargetError

NAME_PATTERN = r"^[A-Za-z0-9_.:\-]+$"
MAX_ITEMS = 100_000


def _to_epoch_ms(value: Any) -> int:
    try:
        return parse_time(value, now=now_ms(), field="timestamp")
    except TargetError as exc:
        raise ValueError(exc.message) from None


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number (not NaN or infinity)")
    return value


Timestamp = Annotated[int, BeforeValidator(_to_epoch_ms)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
SeriesName = Annotated[str, Field(min_length=1, max_length=255)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MetricPointIn(_Strict):
    name: SeriesName
    timestamp: Timestamp
    value: FiniteFloat


class MetricsIn(_Strict):
    points: list[MetricPointIn] = Field(max_length=MAX_ITEMS)


class FeatureSampleIn(_Strict):
    timestamp: Timestamp
    values: dict[SeriesName, Annotated[float | None, BeforeValidator(_finite)]]


class FeaturesIn(_Strict):
    samples: list[FeatureSampleIn] = Field(max_length=MAX_ITEMS)


class ResultIn(_Strict):
    application: Annotated[str, Field(min_length=1, max_length=128)]
    name: Annotated[str, Field(min_length=1, max_length=128)]
    kind: ResultKind
    status: ResultStatus
    value: FiniteFloat
    start_infer_time: Timestamp
    end_infer_time: Timestamp
    extra_data: dict[str, Any] = Field(default_factory=dict)


class ResultsIn(_Strict):
    results: list[ResultIn] = Field(max_length=MAX_ITEMS)


class EndpointPatch(_Strict):
    """Any subset of the record's fields; unset fields keep their stored value."""

    name: Annotated[str, Field(max_length=255)] | None = None
    function_uri: Annotated[str, Field(max_length=512)] | None = None
    model: Annotated[str, Field(max_length=255)] | None = None
    model_class: Annotated[str, Field(max_length=255)] | None = None
    model_uri: Annotated[str, Field(max_length=1024)] | None = None
    labels: dict[str, Any] | None = None
    feature_names: list[str] | None = None
    label_names: list[str] | None = None
    feature_stats: dict[str, Any] | None = None
    current_stats: dict[str, Any] | None = None
    drift_measures: dict[str, Any] | None = None
    drift_status: int | str | None = None
    error_count: Annotated[int, Field(ge=0)] | None = None
    first_request: Timestamp | None = None
    last_request: Timestamp | None = None
    metrics: dict[str, Any] | None = None
    endpoint_type: Annotated[int, Field(ge=1, le=4)] | None = None
    active: bool | None = None
    monitoring_mode: Annotated[str, Field(pattern="^(enabled|disabled)$")] | None = None
    state: Annotated[str, Field(max_length=32)] | None = None
    sampling_percentage: Annotated[float, Field(ge=0, le=100)] | None = None
    predictions_per_second: FiniteFloat | None = None
    latency_avg_5m: FiniteFloat | None = None
    latency_avg_1h: FiniteFloat | None = None
    predictions_count_5m: FiniteFloat | None = None
    predictions_count_1h: FiniteFloat | None = None
    accuracy: FiniteFloat | None = None
