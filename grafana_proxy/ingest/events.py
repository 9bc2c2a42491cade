"""Inference events as clients send them, their validation and their normal form.

A batch is validated event by event so a 400 can name the first bad event and field; valid events are turned
into ``NormalEvent`` (endpoint uid resolved, timestamp in epoch ms, inputs as rows aligned with feature names)
*before* they are spooled, so replaying the spool is deterministic."""

from __future__ import annotations

import hashlib
import math
from functools import lru_cache
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from grafana_proxy.identifiers import EndpointId, FeatureName, FunctionUri, ModelName, RequestId
from grafana_proxy.ingest.fastcheck import CheckedEvent, check_event, rows_align, to_epoch_ms
from grafana_proxy.limits import MAX_FEATURES, MAX_MAGNITUDE, MAX_ROWS, depth_problem, number_problem, time_problem
from grafana_proxy.model import NormalEvent, Scalar


class InvalidEvent(ValueError):
    """Event ``index`` of a batch is malformed at ``field``; the whole batch is refused."""

    def __init__(self, index: int, field_name: str, reason: str) -> None:
        super().__init__(f"event {index}: field '{field_name}': {reason}")
        self.index = index
        self.field = field_name
        self.reason = reason


class EventIn(BaseModel):
    """One inference event as posted (MLRun's field names; ``when`` and ``predictions`` are aliases)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    endpoint_id: EndpointId | None = None
    function_uri: FunctionUri | None = None
    model: ModelName | None = None
    model_class: str | None = Field(default=None, max_length=255)
    timestamp: int = Field(alias="when")
    request_id: RequestId
    inputs: list[list[Scalar]] | list[dict[FeatureName, Scalar]] | dict[FeatureName, Scalar] | list[Scalar] | None = (
        Field(default=None, max_length=MAX_ROWS)
    )
    feature_names: list[FeatureName] | None = Field(default=None, max_length=MAX_FEATURES)
    outputs: Any = Field(default=None, alias="predictions")
    latency: float | None = Field(default=None, ge=0, le=MAX_MAGNITUDE, description="Microseconds.")
    error: str | None = Field(default=None, max_length=10_000)
    labels: dict[str, str] | None = None

    @field_validator("timestamp", mode="before")
    @classmethod
    def _time(cls, value: Any) -> int:
        ms = to_epoch_ms(value)
        reason = time_problem(ms)
        if reason is not None:
            raise ValueError(reason)
        return ms

    @field_validator("model_class", "error")
    @classmethod
    def _storable_text(cls, value: str | None) -> str | None:
        reason = None if value is None else text_problem(value)
        if reason is not None:
            raise ValueError(reason)
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for key, item in (value or {}).items():
            reason = text_problem(key) or text_problem(item)
            if reason is not None:
                raise ValueError(f"label {key[:80]!r}: {reason}")
        return value

    @field_validator("inputs")
    @classmethod
    def _input_values(cls, value: Any) -> Any:
        reason = inputs_problem(value)
        if reason is not None:
            raise ValueError(reason)
        return value

    @field_validator("outputs")
    @classmethod
    def _output_depth(cls, value: Any) -> Any:
        reason = depth_problem(value)
        if reason is not None:
            raise ValueError(reason)
        return value

    @field_validator("latency")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("latency must be a finite number of microseconds")
        return value

    @model_validator(mode="after")
    def _identity(self) -> EventIn:
        if self.endpoint_id is None and (self.function_uri is None or self.model is None):
            raise ValueError("give endpoint_id, or function_uri and model")
        return self


def text_problem(value: str) -> str | None:
    """Why text cannot be stored on every backend (NUL is refused by PostgreSQL, lone surrogates by UTF-8)."""
    if "\x00" in value:
        return "text must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "text is not valid Unicode (lone surrogate)"
    return None


def _scalar_problem(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return number_problem(value)
    if isinstance(value, str):
        return text_problem(value)
    return None


def inputs_problem(inputs: Any) -> str | None:
    """Why input values cannot be stored (a number beyond the limits, text with NUL), or None."""
    if inputs is None:
        return None
    items = inputs.values() if isinstance(inputs, dict) else inputs
    for item in items:
        values = item.values() if isinstance(item, dict) else item if isinstance(item, list) else (item,)
        if isinstance(item, list) and len(item) > MAX_FEATURES:
            return f"an input row holds more than {MAX_FEATURES} values"
        for value in values:
            reason = _scalar_problem(value)
            if reason is not None:
                return f"input value {str(value)[:40]}: {reason}"
    return None


def split_function_uri(project: str, function_uri: str) -> tuple[str, str, str]:
    """``[project/]function[:tag|@hash]`` -> (project, function, tag or hash or '')."""
    if "/" in function_uri:
        project, function_uri = function_uri.split("/", 1)
    for sep in ("@", ":"):
        if sep in function_uri:
            function, tag = function_uri.split(sep, 1)
            return project, function, tag
    return project, function_uri, ""


@lru_cache(maxsize=4096)  # pure, and a batch usually names one endpoint a thousand times
def endpoint_uid(project: str, function_uri: str, model: str) -> str:
    """MLRun's ``EndpointUID``: sha1 of ``{project}_{function}_{tag or 'N/A'}_{model}_{version or 'N/A'}``."""
    fn_project, function, tag = split_function_uri(project, function_uri)
    name, _, version = model.partition(":")
    key = f"{fn_project}_{function}_{tag or 'N/A'}_{name}_{version or 'N/A'}"
    return hashlib.sha1(key.encode()).hexdigest()


def _rows(event: EventIn | CheckedEvent) -> tuple[list[str], bool, list[list[Scalar]]]:
    """Inputs as rows aligned with feature names, whichever shape the client used."""
    inputs = event.inputs
    given = event.feature_names
    if inputs is None:
        return list(given or []), given is not None, []
    if isinstance(inputs, dict):
        return list(inputs), True, [list(inputs.values())]
    dicts = [item for item in inputs if isinstance(item, dict)]
    if dicts and len(dicts) == len(inputs):
        names: list[str] = []
        for item in dicts:
            names.extend(k for k in item if k not in names)
        return names, True, [[item.get(n) for n in names] for item in dicts]
    lists = [item for item in inputs if isinstance(item, list)]
    rows: list[list[Scalar]]
    if lists and len(lists) == len(inputs):
        rows = [list(r) for r in lists]
    elif not lists and not dicts:
        rows = [[v for v in inputs if not isinstance(v, list | dict)]]  # one flat feature vector
    else:
        raise ValueError("mix of feature vectors, named rows and plain values")
    width = max((len(r) for r in rows), default=0)
    if given is not None:
        if any(len(r) != len(given) for r in rows):
            raise ValueError("every input row needs one value per feature name")
        return list(given), True, rows
    return (
        [f"f{i}" for i in range(width)],
        False,
        [r + [None] * (width - len(r)) for r in rows],
    )


def _outputs(outputs: Any, n_rows: int) -> list[Any]:
    """One output per input row: a list of the same length is split, anything else is kept whole."""
    if isinstance(outputs, list) and len(outputs) == n_rows and n_rows > 0:
        return list(outputs)
    if isinstance(outputs, dict) and "outputs" in outputs and isinstance(outputs["outputs"], list):
        return _outputs(outputs["outputs"], n_rows)
    return [outputs] * max(n_rows, 1) if outputs is not None else [None] * n_rows


def normalize(project: str, event: EventIn | CheckedEvent) -> NormalEvent:
    uid = event.endpoint_id or endpoint_uid(project, event.function_uri or "", event.model or "")
    names, named, rows = _rows(event)
    return NormalEvent(
        project=project,
        endpoint_uid=uid,
        request_id=event.request_id,
        timestamp=event.timestamp,
        feature_names=names,
        named=named,
        rows=rows,
        outputs=_outputs(event.outputs, len(rows)),
        latency=event.latency,
        error=event.error,
        function_uri=event.function_uri or "",
        model=event.model or "",
        model_class=event.model_class or "",
        labels=dict(event.labels or {}),
    )


def _items(body: Any, max_events: int) -> list[Any]:
    items = body.get("events") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise InvalidEvent(0, "events", 'expected a JSON list of events or {"events": [...]}')
    if len(items) > max_events:
        raise InvalidEvent(max_events, "events", f"at most {max_events} events per batch")
    return items


def check_batch(project: str, body: Any, max_events: int) -> int:
    """Validate a batch exactly as ``parse_batch`` does, without building its events; return how many it
    holds. The request path only needs the verdict: the pipeline normalises the spooled batch later
    (``parse_batch`` is a pure function of the batch, so that is as deterministic as doing it now)."""
    items = _items(body, max_events)
    for item in items:
        checked = check_event(item) if type(item) is dict else None
        if checked is None or not rows_align(checked.inputs, checked.feature_names):
            # Unusual or invalid: the full path decides, and names the first bad event and field.
            return len(parse_batch(project, body, max_events))
    return len(items)


def request_ids(body: Any) -> list[str]:
    """The request ids of a batch ``check_batch`` accepted, in order (each of its events is then an object
    with a string ``request_id``): what names the batch in a log that drops re-sent batches."""
    items: list[dict[str, Any]] = body["events"] if isinstance(body, dict) else body
    return [item["request_id"] for item in items]


def parse_batch(project: str, body: Any, max_events: int) -> list[NormalEvent]:
    """Validate a whole batch (a JSON list, or ``{"events": [...]}``); raise ``InvalidEvent`` for the first
    bad one so nothing of a bad batch is stored."""
    items = _items(body, max_events)
    out: list[NormalEvent] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidEvent(index, "(event)", "expected a JSON object")
        try:
            # The plain checks take the common case; pydantic decides (and words the 400) otherwise.
            out.append(normalize(project, check_event(item) or EventIn.model_validate(item)))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"]) or "(event)"
            raise InvalidEvent(index, loc, first["msg"]) from None
        except ValueError as exc:
            raise InvalidEvent(index, "inputs", str(exc)) from None
    return out
