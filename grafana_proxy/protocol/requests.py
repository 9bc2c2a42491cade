"""Request bodies of the three wire formats, read leniently: Grafana posts its whole
``DataQueryRequest`` (dozens of keys that change between versions), so unknown keys are ignored and
only the shape of the keys we use is checked. Anything else is a 400 naming the field."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from grafana_proxy.errors import ApiError, describe_validation

Model = TypeVar("Model", bound=BaseModel)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class AdhocFilter(_Lenient):
    key: str
    operator: str = "="
    value: str | int | float | bool | None = None


def _payload_object(value: Any) -> Any:
    # simPod sends the payload as an object, older editors as JSON text; an empty text is no payload.
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            raise ValueError("payload must be a JSON object") from None
    return value


class QueryTarget(_Lenient):
    target: str | None = None
    ref_id: str = Field(default="A", alias="refId")
    hide: bool | None = False
    type: str | None = None
    payload: dict[str, Any] | None = None
    data: dict[str, Any] | None = None  # simPod before 0.3 called the payload "data"

    @field_validator("payload", "data", mode="before")
    @classmethod
    def _parse_payload(cls, value: Any) -> Any:
        return _payload_object(value)

    @property
    def merged_payload(self) -> dict[str, Any] | None:
        if self.payload is None and self.data is None:
            return None
        return {**(self.data or {}), **(self.payload or {})}


class RangeHolder(_Lenient):
    """Keys that carry a time range or a resolution, shared by /query, /rows, /annotations, /variable."""

    range: dict[str, Any] | None = None
    range_raw: dict[str, Any] | None = Field(default=None, alias="rangeRaw")
    from_: str | int | float | None = Field(default=None, alias="from")
    to: str | int | float | None = None
    interval_ms: float | None = Field(default=None, alias="intervalMs")
    max_data_points: int | None = Field(default=None, alias="maxDataPoints", ge=1)

    def range_sources(self) -> list[tuple[str, dict[str, Any] | None]]:
        own = {"from": self.from_, "to": self.to}
        return [("range", self.range), ("rangeRaw", self.range_raw), ("body", own)]


class QueryRequest(RangeHolder):
    targets: list[QueryTarget] = Field(default_factory=list)
    target: str | None = None  # Infinity's shortest form: one target string at the top level
    filters: list[AdhocFilter] = Field(default_factory=list)
    adhoc_filters: list[AdhocFilter] = Field(default_factory=list, alias="adhocFilters")

    def all_filters(self) -> list[AdhocFilter]:
        return [*self.filters, *self.adhoc_filters]

    def all_targets(self) -> list[QueryTarget]:
        if self.target is not None:
            return [QueryTarget(target=self.target), *self.targets]
        return self.targets


class SearchRequest(_Lenient):
    target: str | None = None
    payload: dict[str, Any] | None = None


class AnnotationRequest(RangeHolder):
    annotation: dict[str, Any] = Field(default_factory=dict)


class MetricsRequest(_Lenient):
    metric: str | None = None
    payload: dict[str, Any] | None = None


class PayloadOptionsRequest(_Lenient):
    metric: str = ""
    payload: dict[str, Any] = Field(default_factory=dict)
    name: str = ""


class VariableRequest(_Lenient):
    payload: dict[str, Any] | str | None = None
    range: dict[str, Any] | None = None


class TagValuesRequest(_Lenient):
    key: str = ""


async def read_body(request: Request, model: type[Model], *, allow_empty: bool = True) -> Model:
    """Parse the JSON body into ``model``: 400 for bytes that are not JSON or JSON of the wrong shape."""
    raw = await request.body()
    if not raw.strip():
        if not allow_empty:
            raise ApiError(400, "the request body is empty; send a JSON object")
        raw = b"{}"
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}", "invalid json") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"the request body must be a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, describe_validation(list(exc.errors()))) from None
